/* HTML to readable plain text, for messages that only have HTML. */
#ifndef MV_COMMON_HTML2TEXT_H
#define MV_COMMON_HTML2TEXT_H

#include <stddef.h>

/*
 * Renders HTML (UTF-8) as plain text: head, script, style and comments
 * dropped; block elements (p, div, h1-h6, tr, li, blockquote, pre...) and
 * <br> become line breaks, <li> items get "- ", <pre> keeps its spacing;
 * table cells of a row are separated by " | ", <hr> becomes a line of
 * dashes, <img alt="x"> becomes "[x]" (nothing when alt is empty);
 * entities decoded (named, decimal, hex; invalid ones as U+FFFD), &nbsp;
 * as an ordinary space; invisible padding characters (U+200B, U+200C,
 * U+FEFF, soft hyphen...) dropped; other whitespace collapsed; at most
 * one blank line in a row; trimmed. Links keep their text; a link to an
 * http, https or mailto address whose text differs from its href is
 * followed by " <href>". Ill-formed UTF-8 and NUL bytes become U+FFFD.
 * Linear time, no recursion (deep nesting is safe).
 * Returns a new string (caller frees) and its length in *outlen (may be
 * NULL); NULL only when out of memory.
 */
char *html_to_text(const char *html, size_t len, size_t *outlen);

/*
 * Decodes the character references of HTML-escaped plain text (Gmail's
 * snippet) as html_to_text() does, and nothing else: no tags, no
 * whitespace collapse, &nbsp; stays U+00A0. Ill-formed UTF-8 and NUL
 * bytes become U+FFFD. Returns a new string (caller frees) and its length
 * in *outlen (may be NULL); NULL only when out of memory.
 */
char *html_unescape(const char *s, size_t len, size_t *outlen);

#endif
