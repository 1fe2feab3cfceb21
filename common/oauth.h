/* OAuth2 token requests: refresh-token grant and the service-account JWT
 * bearer grant (RFC 7523, RS256 with OpenSSL libcrypto). Pure functions:
 * the HTTP exchange itself is the caller's. */
#ifndef MV_COMMON_OAUTH_H
#define MV_COMMON_OAUTH_H

#include <stddef.h>
#include <time.h>

#include "common/creds.h"
#include "shared/err.h"

#define OAUTH_DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"

/* The token endpoint: override (--token-uri / GMAIL_TOKEN_URI) if not NULL,
 * else the credentials' token_uri, else OAUTH_DEFAULT_TOKEN_URI. Borrowed. */
const char *oauth_token_uri(const struct creds *c, const char *override);

/*
 * The signed JWT of a service account: header {"alg":"RS256","typ":"JWT",
 * "kid":private_key_id (when set)}, claims iss=client_email, scope=scopes,
 * aud=token URI (aud argument), iat=now, exp=now+3600, sub=sub (left out
 * when NULL). base64url without padding. Returns a new string (caller
 * frees) or NULL with err (bad_credentials: the key does not load or sign).
 */
char *oauth_jwt(const struct creds *c, const char *aud, const char *sub,
    const char *scopes, time_t now, struct mv_err *err);

/*
 * The application/x-www-form-urlencoded body of the token request for c:
 * grant_type=refresh_token&client_id=..&client_secret=..&refresh_token=..
 * for authorized_user; grant_type=urn:ietf:params:oauth:grant-type:
 * jwt-bearer&assertion=JWT for service_account (aud = token_uri, sub =
 * user_email, required: invalid_argument without it). Values percent-encoded.
 * Returns a new string (caller frees; it holds secrets: wipe before free)
 * or NULL with err. Not for CREDS_ACCESS_TOKEN (internal error).
 */
char *oauth_token_body(const struct creds *c, const char *token_uri,
    const char *user_email, const char *scopes, time_t now,
    struct mv_err *err);

/*
 * Parses the token endpoint's answer. 200 with a non-empty access_token:
 * returns 0, *token (new string, caller frees) and *expires_in (seconds,
 * 3600 when absent). Otherwise -1 with err: 400/401 with error
 * invalid_grant, unauthorized_client, invalid_client, access_denied and
 * the like → auth (the message quotes error and error_description); 5xx →
 * api (http_status set; the caller retries those); anything malformed →
 * api. http_status is set in every case.
 */
int oauth_token_parse(long status, const char *body, size_t len, char **token,
    long *expires_in, struct mv_err *err);

#endif
