# OAuth2 token endpoint of the Gmail API stand-in: refresh-token grant and
# the service-account JWT bearer grant (RS256 verified with cryptography).
"""POST /token. handle(state, form, audiences, ttl) -> (status, body dict,
log extras). Tokens are random strings remembered with user, scopes and
expiry in state.tokens."""

import base64
import binascii
import json
import os
import secrets
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from . import store

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_AUDS = ("https://oauth2.googleapis.com/token",
               "https://accounts.google.com/o/oauth2/token",
               "https://www.googleapis.com/oauth2/v4/token")

UNAUTHORIZED_CLIENT = (
    "Client is unauthorized to retrieve access tokens using this method, "
    "or client not authorized for any of the scopes requested.")
BAD_TIME = ("Invalid JWT: Token must be a short-lived token (60 minutes) "
            "and in a reasonable timeframe. Check your iat and exp values in "
            "the JWT claim.")

REDACT = ("client_secret", "refresh_token", "assertion")


def _err(status, error, desc):
    return status, {"error": error, "error_description": desc}


def redacted_form(form):
    """The form fields for the request log, secrets replaced."""
    out = {}
    for k, v in form.items():
        out[k] = "<redacted>" if k in REDACT else v
    return out


def _b64url_decode(seg):
    seg = seg.strip()
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def decode_jwt(assertion):
    """Splits and decodes a JWT: (header, claims, signing input, signature)
    or raises ValueError."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise ValueError("not three segments")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        sig = _b64url_decode(parts[2])
    except (binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise ValueError(str(e))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("header or claims not an object")
    return header, claims, (parts[0] + "." + parts[1]).encode("ascii"), sig


def _issue(state, user, scopes, ttl):
    tok = "ya29.standin-" + secrets.token_urlsafe(36)
    state.tokens[tok] = store.Token(user, scopes, time.time() + ttl)
    return 200, {"access_token": tok, "expires_in": int(ttl),
                 "scope": " ".join(sorted(scopes)), "token_type": "Bearer"}


def _refresh(state, form, ttl):
    for k in ("client_id", "client_secret", "refresh_token"):
        if not form.get(k):
            if k == "client_id":
                return _err(401, "invalid_client", "The OAuth client was "
                            "not found.")
            return _err(400, "invalid_request",
                        "Missing required parameter: %s" % k)
    known = [a for a in state.accounts.values()
             if a.get("authorized_user", {}).get("client_id")
             == form["client_id"]]
    if not known:
        return _err(401, "invalid_client", "The OAuth client was not found.")
    if not any(secrets.compare_digest(
            a["authorized_user"].get("client_secret", ""),
            form["client_secret"]) for a in known):
        return _err(401, "invalid_client", "Unauthorized")
    for a in known:
        au = a["authorized_user"]
        if secrets.compare_digest(au.get("refresh_token", ""),
                                  form["refresh_token"]) \
                and secrets.compare_digest(au.get("client_secret", ""),
                                           form["client_secret"]):
            user = a["email"].lower()
            if user in state.revoked:
                break
            granted = set(au.get("scopes", [store.FULL]))
            want = set(form.get("scope", "").split()) or granted
            if not want <= granted:
                return _err(400, "invalid_scope", "Bad Request")
            return _issue(state, user, want, ttl)
    return _err(400, "invalid_grant", "Token has been expired or revoked.")


def _jwt(state, form, audiences, ttl, extras):
    assertion = form.get("assertion", "")
    try:
        header, claims, signed, sig = decode_jwt(assertion)
    except ValueError:
        return _err(400, "invalid_grant", "Invalid JWT: malformed.")
    extras["jwt"] = {k: claims.get(k) for k in
                     ("iss", "sub", "aud", "scope", "iat", "exp")}
    sa = state.service_accounts.get(claims.get("iss"))
    if sa is None:
        return _err(400, "invalid_grant", "Invalid grant: account not found")
    if header.get("alg") != "RS256":
        return _err(400, "invalid_grant", "Invalid JWT Signature.")
    kid = header.get("kid")
    if kid is not None and sa.get("private_key_id") and \
            kid != sa["private_key_id"]:
        return _err(400, "invalid_grant", "Invalid JWT Signature.")
    try:
        _public_key(state, sa).verify(sig, signed, padding.PKCS1v15(),
                                      hashes.SHA256())
    except (InvalidSignature, ValueError):
        return _err(400, "invalid_grant", "Invalid JWT Signature.")
    if claims.get("aud") not in audiences:
        return _err(400, "invalid_grant", "Invalid JWT: Failed audience "
                    "check. The right audience is %s" % audiences[0])
    now = time.time()
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)) \
            or exp <= now or exp - iat > 3600 or iat > now + 300:
        return _err(400, "invalid_grant", BAD_TIME)
    scope = claims.get("scope")
    if not isinstance(scope, str) or not scope.split():
        return _err(400, "invalid_scope",
                    "Empty or missing scope not allowed.")
    want = set(scope.split())
    if not want <= set(sa.get("scopes", [])):
        return _err(401, "unauthorized_client", UNAUTHORIZED_CLIENT)
    sub = claims.get("sub")
    if not isinstance(sub, str) or sub.lower() not in state.accounts:
        return _err(401, "unauthorized_client", UNAUTHORIZED_CLIENT)
    dom = sa.get("delegation_domain", state.domain)
    if not sub.lower().endswith("@" + dom.lower()):
        return _err(401, "unauthorized_client", UNAUTHORIZED_CLIENT)
    return _issue(state, sub.lower(), want, ttl)


_KEYS = {}


def _public_key(state, sa):
    path = sa.get("public_key", "")
    if not os.path.isabs(path):
        path = os.path.join(state.base_dir, path)
    key = _KEYS.get(path)
    if key is None:
        with open(path, "rb") as f:
            key = serialization.load_pem_public_key(f.read())
        _KEYS[path] = key
    return key


def handle(state, form, audiences, ttl):
    """Answers one token request. Returns (status, body, extras for the
    log: redacted form fields and decoded JWT claims)."""
    extras = {"form": redacted_form(form)}
    grant = form.get("grant_type", "")
    if grant == "refresh_token":
        status, body = _refresh(state, form, ttl)
    elif grant == JWT_GRANT:
        status, body = _jwt(state, form, audiences, ttl, extras)
    elif not grant:
        status, body = _err(400, "invalid_request",
                            "Missing required parameter: grant_type")
    else:
        status, body = _err(400, "unsupported_grant_type",
                            "Invalid grant_type: %s" % grant[:64])
    if status == 200:
        extras["user"] = state.token_lookup(body["access_token"]).user
    return status, body, extras
