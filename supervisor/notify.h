/* The service manager's notification protocol (sd_notify(3)) without
 * libsystemd: READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1, STATUS=. */
#ifndef MVD_NOTIFY_H
#define MVD_NOTIFY_H

/* Sends one message to $NOTIFY_SOCKET when it is set. Returns 0 (also
 * when there is no socket) or -1 with errno. */
int notify_send(const char *msg);

/* The watchdog interval the manager asked for ($WATCHDOG_USEC, for this
 * pid when $WATCHDOG_PID is set), in microseconds; 0 when none. */
unsigned long long notify_watchdog_usec(void);

#endif
