/* One thread's model calls, and the single and ndjson runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <jansson.h>

#include "ai-worker/chat.h"
#include "ai-worker/input.h"
#include "ai-worker/job.h"
#include "ai-worker/prompt.h"
#include "ai-worker/schema.h"
#include "common/http.h"
#include "common/output.h"
#include "shared/buf.h"
#include "shared/log.h"
#include "shared/utf8.h"

#define RETRY_ANSWER_MAX 16384	/* of a rejected answer sent back */

struct run;

/* One thread on its way through the model. */
struct job {
	struct run		*run;
	size_t			 line;		/* 1-based; 0: one document */
	struct ai_thread	 t;
	struct ai_prompt	 p;
	enum ai_rf		 rf;
	char			*bad_answer;	/* the rejected one, retried */
	char			 verr[300];
	long			 prompt_tokens;
	long			 completion_tokens;
	char			*model;
	json_t			*answer;	/* validated */
	struct mv_err		 err;
};

/* The state of a run: shared settings, and for ndjson input the window
 * of lines read and not yet printed. */
struct run {
	const struct ai_opts	*o;
	struct http_engine	*e;
	int			 have_key;
	json_t			*schema;
	char			*url;
	char			 nonce[17];
	time_t			 now;
	FILE			*out;
	/* ndjson */
	FILE			*in;
	int			 eof;
	size_t			 next;		/* lines read */
	size_t			 printed;
	size_t			 active;
	size_t			 window;
	json_t			**ready;	/* [line % window] */
	size_t			 ok, failed, skipped;
	struct mv_err		 first_err;
	long			 prompt_tokens, completion_tokens;
	json_t			*single;	/* json mode: the result */
};

static void job_submit(struct job *);
static void job_finished(struct job *);

static void
job_free(struct job *j)
{
	ai_thread_free(&j->t);
	prompt_free(&j->p);
	free(j->bad_answer);
	free(j->model);
	json_decref(j->answer);
	free(j);
}

static void
job_fail(struct job *j, const struct mv_err *err)
{
	j->err = *err;
	job_finished(j);
}

/* A rejected answer: retried once with what was wrong, then bad_output. */
static void
job_reject(struct job *j, const char *answer, const char *why)
{
	struct mv_err err = MV_ERR_INIT;

	if (j->bad_answer == NULL) {
		log_warnx("the model's answer does not fit the schema (%s); "
		    "asking again", why);
		j->bad_answer = strndup(answer, RETRY_ANSWER_MAX);
		snprintf(j->verr, sizeof(j->verr), "%s", why);
		job_submit(j);
		return;
	}
	mv_err_set(&err, MV_E_BAD_OUTPUT, "the model's answer does not fit "
	    "the schema after a retry: %s", why);
	job_fail(j, &err);
}

static void
job_check(struct job *j, const char *content)
{
	json_error_t je;
	json_t *v;
	size_t dropped;
	char why[256];

	if ((v = json_loads(content, 0, &je)) == NULL) {
		snprintf(why, sizeof(why), "not JSON: %.120s", je.text);
		job_reject(j, content, why);
		return;
	}
	if (schema_check(j->run->schema, v, &dropped, why, sizeof(why)) ==
	    -1) {
		json_decref(v);
		job_reject(j, content, why);
		return;
	}
	if (dropped)
		log_warnx("%zu field(s) the schema does not name dropped "
		    "from the model's answer", dropped);
	j->answer = v;
	job_finished(j);
}

/* An answer: usage counted, then refused, rejected or accepted. */
static void
job_answer(struct job *j, struct http_req *r)
{
	struct chat_answer a;
	struct mv_err err = MV_ERR_INIT;

	if (chat_parse(r->resp.data, r->resp.len, &a, &err) == -1) {
		job_fail(j, &err);
		return;
	}
	j->prompt_tokens += a.prompt_tokens;
	j->completion_tokens += a.completion_tokens;
	if (a.model) {
		free(j->model);
		j->model = a.model;
		a.model = NULL;
	}
	if (a.refused) {
		mv_err_set(&err, MV_E_REFUSED, "the model refused: %.200s",
		    a.why);
		job_fail(j, &err);
	} else if (a.content == NULL)
		job_reject(j, "", a.why);
	else
		job_check(j, a.content);
	chat_answer_free(&a);
}

static void
job_http_done(struct http_req *r, void *arg)
{
	struct job *j = arg;

	if (r->err.type == MV_OK)
		job_answer(j, r);
	else if (r->status == 400 && j->rf != AI_RF_NONE &&
	    chat_rf_refused(r->resp.data, r->resp.len)) {
		j->rf--;
		log_warnx("the endpoint refuses that response_format; trying "
		    "%s", j->rf == AI_RF_JSON_OBJECT ? "json_object" : "none");
		job_submit(j);
	} else
		job_fail(j, &r->err);
	http_req_free(r);
}

static void
job_submit(struct job *j)
{
	struct run *run = j->run;
	struct http_req *r;
	char *body;

	body = chat_request(run->o->model, j->p.system, j->p.user, run->schema,
	    j->rf, j->bad_answer, j->verr);
	r = http_req_new("POST", run->url, body, strlen(body),
	    "application/json", 0, run->have_key ? HTTP_AUTH : 0,
	    "chat completion");
	free(body);
	r->done = job_http_done;
	r->arg = j;
	http_submit(run->e, r);
}

/* Starts thread t (taken over) through the model, or fails it at once. */
static void
job_start(struct run *run, size_t line, struct ai_thread *t)
{
	struct ai_prompt_opts po;
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		abort();
	j->run = run;
	j->line = line;
	j->t = *t;
	j->rf = run->o->rf;
	mv_err_clear(&j->err);
	memset(&po, 0, sizeof(po));
	po.tasks = run->o->tasks;
	po.cats = run->o->categories;
	po.ncats = run->o->ncategories;
	po.schema = run->schema;
	po.max_tokens = run->o->max_input_tokens;
	po.now = run->now;
	po.nonce = run->nonce;
	run->active++;
	if (prompt_build(&j->t, &po, &j->p, &j->err) == -1)
		job_finished(j);
	else
		job_submit(j);
}

static json_t *
usage_json(long p, long c)
{
	return json_pack("{s:I, s:I}", "prompt_tokens", (json_int_t)p,
	    "completion_tokens", (json_int_t)c);
}

static json_t *
message_ids(const struct ai_thread *t)
{
	json_t *ids = json_array(), *e;
	size_t i;

	json_array_foreach(t->emails, i, e)
		json_array_append(ids, json_object_get(e, "id"));
	return ids;
}

/* The result (or error) envelope of a finished job. */
static json_t *
job_result(const struct job *j)
{
	const struct ai_opts *o = j->run->o;
	json_t *env;

	if (j->err.type != MV_OK)
		env = mv_envelope_error(o->action, &j->err);
	else
		env = mv_envelope_success(o->action, NULL);
	if (j->line)
		json_object_set_new(env, "line", json_integer((json_int_t)
		    j->line));
	json_object_set_new(env, "thread_id", mv_json_str(j->t.thread_id));
	if (j->t.emails)
		json_object_set_new(env, "message_ids", message_ids(&j->t));
	if (j->answer)
		json_object_update(env, j->answer);
	if (j->err.type == MV_OK || j->prompt_tokens || j->completion_tokens) {
		json_object_set_new(env, "model", mv_json_str(j->model ?
		    j->model : o->model));
		json_object_set_new(env, "usage", usage_json(j->prompt_tokens,
		    j->completion_tokens));
	}
	if (j->p.messages_dropped || j->p.bytes_dropped)
		json_object_set_new(env, "truncated", json_pack("{s:I, s:I}",
		    "messages_dropped", (json_int_t)j->p.messages_dropped,
		    "bytes_dropped", (json_int_t)j->p.bytes_dropped));
	return env;
}

static void run_flush(struct run *);
static void run_refill(struct run *);

/* Counts a line's outcome and keeps its result until its turn. */
static void
run_store(struct run *run, size_t line, json_t *res, const struct mv_err *e)
{
	if (e->type == MV_OK)
		run->ok++;
	else if (run->failed++ == 0)
		run->first_err = *e;
	if (line == 0) {
		run->single = res;
		return;
	}
	run->ready[(line - 1) % run->window] = res;
	run_flush(run);
	run_refill(run);
}

static void
job_finished(struct job *j)
{
	struct run *run = j->run;
	json_t *res = job_result(j);
	struct mv_err e = j->err;
	size_t line = j->line;

	if (e.type != MV_OK && line)
		log_warnx("line %zu: %s", line, e.msg);
	else if (e.type != MV_OK)
		log_warnx("%s", e.msg);
	run->prompt_tokens += j->prompt_tokens;
	run->completion_tokens += j->completion_tokens;
	run->active--;
	job_free(j);
	run_store(run, line, res, &e);
}

/* Prints the lines whose turn has come. */
static void
run_flush(struct run *run)
{
	json_t **slot;

	while (run->printed < run->next) {
		slot = &run->ready[run->printed % run->window];
		if (*slot == NULL)
			return;
		output_line(run->out, *slot);
		json_decref(*slot);
		*slot = NULL;
		run->printed++;
	}
}

/* The result of a change line without mail: nothing to ask the model. */
static json_t *
nomail_result(const struct run *run, size_t line, const struct ai_thread *t)
{
	json_t *env = mv_envelope_success(run->o->action, NULL);
	const char *change = json_string_value(json_object_get(t->nomail,
	    "change"));
	char why[128];

	if (line)
		json_object_set_new(env, "line", json_integer((json_int_t)line));
	snprintf(why, sizeof(why), "a %.40s change carries no mail", change);
	json_object_set_new(env, "skipped", json_true());
	json_object_set_new(env, "reason", json_string(why));
	json_object_update(env, t->nomail);
	return env;
}

/* One input line: its thread started, or its error stored. */
static void
run_line(struct run *run, const char *text, size_t len)
{
	struct ai_thread t;
	struct mv_err err = MV_ERR_INIT;
	size_t line;
	struct job fake;
	int rc = -1;

	if (len > AI_INPUT_MAX)
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "input line larger "
		    "than %u bytes", AI_INPUT_MAX);
	else if ((rc = ai_input_parse(text, len, &t, &err)) ==
	    AI_INPUT_SUMMARY)
		return;		/* the stage before's summary: no mail */
	line = ++run->next;
	if (rc == 0) {
		job_start(run, line, &t);
		return;
	}
	if (rc == AI_INPUT_NO_MAIL) {
		run->skipped++;
		run_store(run, line, nomail_result(run, line, &t), &err);
		ai_thread_free(&t);
		return;
	}
	log_warnx("line %zu: %s", line, err.msg);
	memset(&fake, 0, sizeof(fake));
	fake.run = run;
	fake.line = line;
	fake.err = err;
	run_store(run, line, job_result(&fake), &err);
}

static int
blank(const char *s, size_t n)
{
	return strspn(s, " \t\r\n") >= n;
}

/* Reads and starts lines while there is room in flight and in the
 * window. */
static void
run_refill(struct run *run)
{
	static int busy;
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;

	if (busy)		/* a line that fails at once re-enters */
		return;
	busy = 1;
	while (!run->eof && run->active < (size_t)run->o->max_in_flight &&
	    run->next - run->printed < run->window) {
		if ((n = getline(&l, &cap, run->in)) == -1) {
			run->eof = 1;
			break;
		}
		if (blank(l, (size_t)n))
			continue;
		run_line(run, l, (size_t)n);
		run_flush(run);
	}
	free(l);
	busy = 0;
}

static int
run_init(struct run *run, const struct ai_opts *o, struct http_engine *e,
    int have_key, FILE *out)
{
	const char *base = o->api_base;
	size_t n = strlen(base);
	unsigned char r[8];

	memset(run, 0, sizeof(*run));
	run->o = o;
	run->e = e;
	run->have_key = have_key;
	run->out = out;
	run->now = time(NULL);
	mv_err_clear(&run->first_err);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (asprintf(&run->url, "%.*s/chat/completions%s%s", (int)n, base,
	    o->api_version ? "?api-version=" : "",
	    o->api_version ? o->api_version : "") == -1)
		return -1;
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -1;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(run->nonce + 2 * i, 3, "%02x", r[i]);
	run->schema = schema_build(o->tasks, o->categories, o->ncategories);
	return 0;
}

static void
run_free(struct run *run)
{
	json_decref(run->schema);
	json_decref(run->single);
	free(run->url);
	free(run->ready);
}

/* json mode: one document in, one result out. */
static int
run_single(struct run *run)
{
	const char *path = run->o->input ? run->o->input : "-";
	struct mv_err err = MV_ERR_INIT;
	struct ai_thread t;
	size_t len;
	char *text;
	int rc = -1;

	if ((text = mv_read_file(path, AI_INPUT_MAX, &len)) == NULL) {
		if (errno == EMSGSIZE)
			mv_err_set(&err, MV_E_INVALID_ARGUMENT, "input larger "
			    "than %u bytes", AI_INPUT_MAX);
		else
			mv_err_set(&err, MV_E_NO_INPUT, "input %.200s: %s",
			    path, strerror(errno));
	} else if ((rc = ai_input_parse(text, len, &t, &err)) ==
	    AI_INPUT_NO_MAIL) {
		free(text);
		run->single = nomail_result(run, 0, &t);
		ai_thread_free(&t);
		output_line(run->out, run->single);
		return 0;
	} else if (rc == 0) {
		free(text);
		text = NULL;
		job_start(run, 0, &t);
		if (http_run(run->e) == -1)
			mv_err_set(&err, MV_E_INTERNAL, "curl multi failed");
		else if (run->single != NULL) {
			output_line(run->out, run->single);
			return mv_err_exit(run->first_err.type);
		}
	}
	free(text);
	log_warnx("%s", err.msg);
	return output_error(run->out, 0, run->o->action, &err);
}

static json_t *
run_summary(const struct run *run)
{
	struct mv_err err = run->first_err;
	json_t *env;

	if (run->failed) {
		snprintf(err.msg, sizeof(err.msg), "%zu of %zu inputs failed; "
		    "the first: %.400s", run->failed, run->next,
		    run->first_err.msg);
		env = mv_envelope_error(run->o->action, &err);
	} else
		env = mv_envelope_success(run->o->action, NULL);
	json_object_set_new(env, "summary", json_true());
	json_object_set_new(env, "count", json_integer((json_int_t)
	    run->next));
	json_object_set_new(env, "succeeded", json_integer((json_int_t)
	    run->ok));
	json_object_set_new(env, "failed", json_integer((json_int_t)
	    run->failed));
	json_object_set_new(env, "skipped", json_integer((json_int_t)
	    run->skipped));
	json_object_set_new(env, "model", mv_json_str(run->o->model));
	json_object_set_new(env, "usage", usage_json(run->prompt_tokens,
	    run->completion_tokens));
	return env;
}

/* ndjson mode: one thread per line, results in input order. */
static int
run_ndjson(struct run *run)
{
	const char *path = run->o->input;
	struct mv_err err = MV_ERR_INIT;
	json_t *sum;
	int rc;

	if (path == NULL || strcmp(path, "-") == 0)
		run->in = stdin;
	else if ((run->in = fopen(path, "r")) == NULL) {
		mv_err_set(&err, MV_E_NO_INPUT, "input %.200s: %s", path,
		    strerror(errno));
		log_warnx("%s", err.msg);
		return output_error(run->out, 1, run->o->action, &err);
	}
	run->window = (size_t)run->o->max_in_flight * 4 + 16;
	if ((run->ready = calloc(run->window, sizeof(*run->ready))) == NULL)
		abort();
	run_refill(run);
	rc = http_run(run->e);
	if (run->in != stdin)
		fclose(run->in);
	if (rc == -1) {
		mv_err_set(&err, MV_E_INTERNAL, "curl multi failed");
		return output_error(run->out, 1, run->o->action, &err);
	}
	run_flush(run);
	sum = run_summary(run);
	output_line(run->out, sum);
	json_decref(sum);
	return run->failed ? mv_err_exit(run->first_err.type) : 0;
}

int
job_run(const struct ai_opts *o, struct http_engine *e, int have_key,
    FILE *out)
{
	struct run run;
	struct mv_err err = MV_ERR_INIT;
	int rc;

	if (run_init(&run, o, e, have_key, out) == -1) {
		run_free(&run);
		mv_err_set(&err, MV_E_INTERNAL, "out of memory or entropy");
		return output_error(out, o->ndjson, o->action, &err);
	}
	rc = o->ndjson ? run_ndjson(&run) : run_single(&run);
	run_free(&run);
	return rc;
}
