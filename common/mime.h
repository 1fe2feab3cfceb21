/* A Gmail Message resource (format full, metadata or raw) to the EMAIL
 * object of the contract. */
#ifndef MV_COMMON_MIME_H
#define MV_COMMON_MIME_H

#include <stddef.h>
#include <jansson.h>

#include "shared/err.h"

enum mime_format {
	MIME_FULL,
	MIME_METADATA,
	MIME_RAW,
};

/*
 * Builds the EMAIL object (contract §1) from a Message resource as Gmail
 * returns it from messages.get:
 *  - full: walks `payload` (body.data is base64url of bytes whose
 *    Content-Transfer-Encoding Gmail already removed: never decoded again);
 *  - metadata: headers only, body_text and body_html null, attachments as
 *    far as the part tree is given (often none);
 *  - raw: parses the RFC 5322 message in `raw` itself (MIME multipart,
 *    quoted-printable and base64 transfer encodings, charsets), fills every
 *    parsed field and adds "raw" (the base64url string as given).
 * Text parts go through charset_text_to_utf8() with their declared charset;
 * header values through rfc2047_decode(). body_text is the first text/plain
 * part that is not an attachment; with only HTML, html_to_text() of the
 * first text/html part; null when neither. Bodies come from the message's
 * own parts; those of an attached message/rfc822 stand in only when the
 * message has neither a text nor an HTML body of its own. Attachments:
 * every leaf part with a filename, with Content-Disposition: attachment,
 * or of a media type other than text/plain and text/html (inline images,
 * calendar invitations, nameless files...), and every message/rfc822 part;
 * listed with filename ("" when none), mime_type, size (Gmail's body.size;
 * the decoded byte count for raw), attachment_id (Gmail's, null for raw),
 * content_id (without angle brackets, or null) and inline (a disposition
 * of inline, or none with a Content-ID). Deep nesting is bounded (parts
 * below depth 64 and past 10 000 parts are ignored), never recursive.
 * Returns a new reference, or NULL with err set (type api: the resource is
 * not a Message).
 */
json_t *mime_email(json_t *msg, enum mime_format fmt, struct mv_err *err);

/*
 * The EMAIL object of an RFC 5322 message given as bytes (an IMAP or POP3
 * server's), decoded as mime_email() decodes a raw Message: the same
 * message gives the same fields. res holds what the message's store knows
 * of it, under the Message resource's names (id, threadId, labelIds,
 * snippet, historyId, internalDate, sizeEstimate; absent ones are null,
 * [] or ""). MIME_METADATA: headers only, no bodies, no attachments (the
 * bytes may be the header alone); otherwise the whole message is read.
 * "raw" is not added: that is the caller's (it has the bytes). bytes are
 * borrowed. Returns a new reference, or NULL with err (internal).
 */
json_t *mime_email_bytes(const char *bytes, size_t len, json_t *res,
    enum mime_format fmt, struct mv_err *err);

/*
 * The bytes (transfer encoding removed) of the n-th attachment (from 1, in
 * the order of the EMAIL's attachments) of the RFC 5322 message in bytes.
 * Returns a new buffer (caller frees) and *lenp, or NULL when there is no
 * such attachment (or no memory).
 */
unsigned char *mime_attachment_bytes(const char *bytes, size_t len, size_t n,
    size_t *lenp);

/*
 * The text parts mime_email() would read whose body holds an attachmentId
 * and no data (Gmail does that for large bodies). Stores up to max
 * borrowed references to those MessagePartBody objects in bodies[] and
 * returns how many there are. The caller fetches each attachment and sets
 * "data" in the body object before calling mime_email().
 */
size_t mime_pending_bodies(json_t *msg, json_t **bodies, size_t max);

#endif
