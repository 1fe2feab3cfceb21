/* HTML to readable plain text, for messages that only have HTML. */
#ifndef GW_HTML2TEXT_H
#define GW_HTML2TEXT_H

#include <stddef.h>

/*
 * Renders HTML (UTF-8) as plain text: head, script, style and comments
 * dropped; block elements (p, div, h1-h6, tr, li, blockquote, pre...) and
 * <br> become line breaks, <li> items get "- ", <pre> keeps its spacing;
 * entities decoded (named, decimal, hex; invalid ones as U+FFFD);
 * other whitespace collapsed; at most one blank line in a row; trimmed.
 * Links keep their text; a link whose text differs from its href is
 * followed by " <href>". Linear time, no recursion (deep nesting is safe).
 * Returns a new string (caller frees) and its length in *outlen (may be
 * NULL); NULL only when out of memory.
 */
char *html_to_text(const char *html, size_t len, size_t *outlen);

#endif
