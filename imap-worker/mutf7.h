/* IMAP's modified UTF-7 for folder names (RFC 3501 5.1.3): imap-worker
 * speaks UTF-8 and turns names into modified UTF-7 on the wire only. */
#ifndef IW_MUTF7_H
#define IW_MUTF7_H

/* The name as modified UTF-7. New string (caller frees), or NULL when
 * out of memory. Invalid UTF-8 is sent as U+FFFD. */
char *mutf7_encode(const char *utf8);

/* The name as UTF-8. New string (caller frees), or NULL when it is not
 * valid modified UTF-7 (the caller then keeps the name as it came). */
char *mutf7_decode(const char *mutf7);

#endif
