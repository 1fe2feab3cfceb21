/* mailvisord: the Mailvisor supervisor daemon. Runs in the foreground
 * (the service manager knows its pid), logs to stderr. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "shared/log.h"
#include "supervisor/api.h"
#include "supervisor/child.h"
#include "supervisor/conf.h"
#include "supervisor/daemon.h"
#include "supervisor/notify.h"

#ifndef MV_VERSION
#define MV_VERSION "0.1.0"
#endif
#define DEFAULT_CONF "/etc/mailvisor/mailvisord.conf"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mailvisord [-dn] [-c FILE] [--run JOB]...\n"
	    "  -c, --config FILE   configuration (default " DEFAULT_CONF ")\n"
	    "  -n, --check-config  check the configuration, print "
	    "\"configuration OK\", exit\n"
	    "  -d, --debug         log at debug level\n"
	    "      --run JOB       run JOB once now (repeatable), then exit "
	    "when idle\n"
	    "  -h, --help          show this help\n"
	    "  -V, --version       show the version\n"
	    "Signals: HUP reloads the configuration, TERM and INT stop.\n"
	    "See mailvisord(8) and mailvisord.conf(5).\n");
}

struct signals {
	struct event	*chld, *term, *intr, *hup;
};

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct mvd *d = arg;

	(void)ev;
	switch (sig) {
	case SIGCHLD:
		child_reap();
		break;
	case SIGHUP:
		log_info("SIGHUP: reloading the configuration");
		mvd_reload(d);
		break;
	default:
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		mvd_stop(d);
		break;
	}
}

static int
signals_start(struct event_base *base, struct mvd *d, struct signals *s)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	s->chld = evsignal_new(base, SIGCHLD, on_signal, d);
	s->term = evsignal_new(base, SIGTERM, on_signal, d);
	s->intr = evsignal_new(base, SIGINT, on_signal, d);
	s->hup = evsignal_new(base, SIGHUP, on_signal, d);
	if (!s->chld || !s->term || !s->intr || !s->hup ||
	    evsignal_add(s->chld, NULL) || evsignal_add(s->term, NULL) ||
	    evsignal_add(s->intr, NULL) || evsignal_add(s->hup, NULL))
		return -1;
	return 0;
}

static void
signals_free(struct signals *s)
{
	struct event *all[] = { s->chld, s->term, s->intr, s->hup };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i])
			event_free(all[i]);
}

/* Everything but the --run list's memory, which main() owns. */
/* A warning of conf_warn(), logged. */
static void
warn_log(const char *msg)
{
	log_warnx("%s", msg);
}

static int
mvd_main(int argc, char **argv, const char **runs)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "run", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONF;
	int ch, check = 0, debug = 0, nruns = 0, rc = 0;
	struct event_base *base;
	struct signals sig = { 0 };
	struct api *api = NULL;
	struct conf *c;
	struct mvd *d;
	char err[256];

	while ((ch = getopt_long(argc, argv, "c:ndhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'r':
			runs[nruns++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mailvisord %s\n", MV_VERSION);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	if ((c = conf_load(path, stderr)) == NULL)
		return 78;
	for (int i = 0; i < nruns; i++)
		if (conf_job(c, runs[i]) == NULL) {
			log_warnx("--run %s: no such job in %s", runs[i], path);
			conf_free(c);
			return 64;
		}
	if (check) {
		(void)conf_warn(c, 1, warn_log);
		printf("configuration OK\n");
		conf_free(c);
		return 0;
	}
	log_set_level(debug ? LOG_LVL_DEBUG : c->daemon.log_level);
	log_use_json(c->daemon.log_format == CONF_LOG_JSON);
	/* By hand, a time on each line; journald adds its own. */
	log_use_time(!log_stderr_is_journal());
	(void)conf_warn(c, 0, warn_log);
	if ((base = event_base_new()) == NULL)
		fatalx("cannot start the event loop");
	if ((d = mvd_new(base, c, path)) == NULL)
		return 1;
	if (mvd_conf(d)->http.listen != NULL && (api = api_new(base, d,
	    &mvd_conf(d)->http, err, sizeof(err))) == NULL) {
		log_warnx("http: %s", err);
		mvd_free(d);
		event_base_free(base);
		return 1;
	}
	if (signals_start(base, d, &sig) == -1)
		fatalx("cannot install the signal handlers");
	for (int i = 0; i < nruns; i++)
		if (mvd_trigger(d, runs[i], NULL, NULL, NULL, err,
		    sizeof(err)) == -1) {
			log_warnx("--run %s: %s", runs[i], err);
			rc = 64;
		}
	if (rc != 0) {
		api_free(api);
		mvd_free(d);
		signals_free(&sig);
		event_base_free(base);
		return rc;
	}
	if (nruns > 0)
		mvd_exit_when_idle(d);
	log_info("started: %s, pid %ld", path, (long)getpid());
	notify_send("READY=1");
	event_base_dispatch(base);
	if (mvd_flush(d, 5.0) == -1)
		log_warnx("stopping with records that could not reach Redis");
	log_info("stopped");
	api_free(api);
	mvd_free(d);
	signals_free(&sig);
	event_base_free(base);
	return 0;
}

int
main(int argc, char **argv)
{
	const char **runs;
	int rc;

	log_init("mailvisord", LOG_LVL_INFO);
	if ((runs = calloc((size_t)argc, sizeof(*runs))) == NULL)
		fatal("calloc");
	rc = mvd_main(argc, argv, runs);
	free(runs);
	return rc;
}
