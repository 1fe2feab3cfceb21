// The dashboard page in headless Chromium against a running mailvisord:
// token form, live data, pause/resume/trigger/revoke clicks checked in the
// page and through the API, failures' stderr shown as text, the dead
// letters listed, reprocessed and purged by clicks, charts whose text is
// readable and whose buckets are round durations, times with their zone,
// the loading state before the first data, screenshots wide and narrow.
//
// Environment (tests/integration/t220-mvd-dashboard.sh sets it):
//   MV_DASH_URL         the daemon's base URL, e.g. http://127.0.0.1:8080
//   MV_DASH_TOKEN_FILE  the daemon's token file
//   MV_DASH_OUT         directory for screenshots (default: a new temp dir)
//   MV_DASH_QUEUE       a configured queue the queues table must show
//                       (its share 0: shown "any")
//   MV_DASH_STREAM      a configured stream of MV_DASH_STREAM_LENGTH
//                       entries with one consumer group, whose name has
//                       markup, that has read one entry and not
//                       acknowledged it
//   CHROMIUM            the browser (default /usr/bin/chromium)
// The daemon's configuration has these jobs: "tick" (scheduled every second
// or so, succeeds), "manual" (no schedule, succeeds), "sleeper" (running
// now, sleeps), "hostile" (failed, with markup on its stderr); queue
// "dead" (share 50) and three dead letters: hostile's run from "dead", and
// two entries with markup in their job name, user or reason.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.MV_DASH_URL || '').replace(/\/$/, '');
const TOKEN_FILE = process.env.MV_DASH_TOKEN_FILE || '';
const OUT = process.env.MV_DASH_OUT || mkdtempSync(join(tmpdir(), 'mv-dash-'));
const QUEUE = process.env.MV_DASH_QUEUE || '';
const STREAM = process.env.MV_DASH_STREAM || '';
const STREAM_LENGTH = Number(process.env.MV_DASH_STREAM_LENGTH || 0);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const HOSTILE_MARK = '<img src=x onerror=';
const STEP_MS = 20000;
const TOTAL_MS = 240000;
// The page runs in a zone with no abbreviation, a half-hour offset and no
// daylight saving time: its times must say so.
const ZONE = 'Asia/Kolkata';
const ZONE_NAME = 'UTC+05:30';
const ZONE_OFFSET_MS = 330 * 60000;
const WIDE = { width: 1400, height: 1000 };
const NARROW = { width: 420, height: 900 };
const MIN_FONT_PX = 11;
// Bucket sizes a chart may use: round durations.
const ROUND_BUCKET = /^Runs per (1|5|10|30) s$|^Runs per (1|5|15|30) min$|^Runs per (1|3|6|12) h$|^Runs per (1|7) d$/;
// What the page's confirmations get: accepted unless a step says not.
const dialogs = { seen: [], accept: true };

// Flags Chromium needs here: no sandbox as root, nothing that phones out.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic',
	'--no-first-run', '--disable-background-networking',
	'--disable-component-update', '--disable-sync'];

let step = 'start';
const log = (msg) => console.log('dashboard: ' + msg);

function begin(name) {
	step = name;
	log(name);
}

// Polls fn until it returns a truthy value; fails naming what after ms.
async function until(fn, what, ms = STEP_MS) {
	const end = Date.now() + ms;
	let last;
	for (;;) {
		try {
			const v = await fn();
			if (v)
				return v;
			last = v;
		} catch (e) {
			last = e.message;
		}
		if (Date.now() > end)
			throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

// The API from outside the page, with the token.
async function apiGet(token, path) {
	const res = await fetch(BASE + path, {
		headers: { Authorization: 'Bearer ' + token } });
	assert.equal(res.status, 200, `GET ${path}: status ${res.status}`);
	return res.json();
}

async function schedJob(token, name) {
	const s = await apiGet(token, '/api/v1/workers/scheduler/status');
	const j = s.jobs.find((x) => x.name === name);
	assert.ok(j, `scheduler status lists ${name}`);
	return j;
}

async function workerStats(token, name) {
	const s = await apiGet(token, '/api/v1/workers/monitor/stats?worker_name=' + name);
	return s.workers[name];
}

function cspHash(text) {
	return 'sha256-' + createHash('sha256').update(text, 'utf8').digest('base64');
}

// The page as served: HTML, one inline style and script whose hashes the
// CSP lists, nothing loaded from elsewhere.
async function checkServedPage() {
	begin('GET / serves the page with a strict CSP');
	const res = await fetch(BASE + '/');
	assert.equal(res.status, 200);
	assert.match(res.headers.get('content-type') || '', /^text\/html; charset=utf-8$/i);
	const html = await res.text();
	const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/);
	assert.ok(csp, 'the page has a CSP meta tag');
	const style = html.match(/<style>([\s\S]*?)<\/style>/);
	const script = html.match(/<script>([\s\S]*?)<\/script>/);
	assert.ok(style && script, 'one inline style and script');
	assert.equal((html.match(/<script/g) || []).length, 1, 'one script element');
	const want = [`script-src '${cspHash(script[1])}'`,
		`style-src '${cspHash(style[1])}'`];
	for (const w of want)
		assert.ok(csp[1].includes(w),
		    `supervisor/dashboard.html: the CSP must say ${w} (the hash of the element as it is now)`);
	assert.match(csp[1], /default-src 'none'/);
	assert.match(csp[1], /connect-src 'self'/);
	assert.doesNotMatch(html, /(?:src|href|action)\s*=\s*["']?(?:[a-z]+:)?\/\//i,
	    'no external resource');
	assert.doesNotMatch(script[1], /innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
	    'the script never writes markup');
}

async function text(loc) {
	return ((await loc.textContent()) || '').trim();
}

async function intOf(loc) {
	const t = await text(loc);
	return /^\d+$/.test(t) ? Number(t) : NaN;
}

async function main() {
	assert.ok(BASE, 'MV_DASH_URL is not set');
	assert.ok(TOKEN_FILE, 'MV_DASH_TOKEN_FILE is not set');
	assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (install Debian's chromium)`);
	const token = readFileSync(TOKEN_FILE, 'utf8').trim();

	await checkServedPage();

	const browser = await chromium.launch({ executablePath: CHROMIUM,
		headless: true, args: CHROMIUM_ARGS });
	const errors = [];
	let apiRequests = 0;
	try {
		const context = await browser.newContext({ viewport: WIDE,
			timezoneId: ZONE, locale: 'en-US' });
		const page = await context.newPage();
		page.setDefaultTimeout(STEP_MS);
		page.on('pageerror', (e) => errors.push('page error: ' + e.message));
		page.on('console', (m) => {
			if (/Content Security Policy|Refused to/i.test(m.text()))
				errors.push('console: ' + m.text());
		});
		page.on('request', (r) => {
			if (!r.url().startsWith(BASE + '/'))
				errors.push('request outside the daemon: ' + r.url());
			if (r.url().startsWith(BASE + '/api/'))
				apiRequests++;
		});
		page.on('dialog', (d) => {
			dialogs.seen.push(d.message());
			return dialogs.accept ? d.accept() : d.dismiss();
		});
		try {
			await scenario(page, token, () => apiRequests);
		} catch (e) {
			await page.screenshot({ path: join(OUT, 'failure.png'), fullPage: true })
			    .catch(() => {});
			log(`screenshot of the failure: ${join(OUT, 'failure.png')}`);
			throw e;
		}
		assert.deepEqual(errors, [], 'no page error, CSP violation or outside request');
	} finally {
		await browser.close();
	}
}

async function scenario(page, token, requests) {
	const tid = (id) => page.locator(`[data-testid="${id}"]`);

	begin('the page asks for the token');
	await page.goto(BASE + '/');
	await tid('token-form').waitFor({ state: 'visible' });
	await tid('token-input').fill('not-the-right-token-0000');
	await tid('token-submit').click();
	await until(async () => (await tid('token-error').isVisible()) &&
	    /refused/.test(await text(tid('token-error'))), 'the refusal of a wrong token');
	await tid('token-input').fill(token);
	await tid('token-submit').click();
	await tid('token-form').waitFor({ state: 'hidden' });

	begin('the header shows the daemon');
	const health = await (await fetch(BASE + '/healthz')).json();
	await until(async () => await text(tid('daemon-version')) === health.version,
	    `version ${health.version}`);
	await until(async () => await text(tid('redis-status')) === 'Redis connected',
	    'Redis connected');
	assert.match(await text(tid('children')), /^\d+ \/ \d+$/);

	begin('a job that ran shows its success count');
	const tick = page.locator('[data-testid="worker-card"][data-worker="tick"]');
	const ok = await until(async () => {
		const n = await intOf(tick.locator('[data-testid="worker-success"]'));
		return n >= 1 ? n : 0;
	}, 'tick succeeded at least once');
	const api = await workerStats(token, 'tick');
	assert.ok(api.successful_executions >= ok,
	    `page ${ok} successes, API ${api.successful_executions}`);
	await until(async () => await tick.locator('svg[data-testid="worker-chart"] rect').count() > 0 &&
	    await tick.locator('svg[data-testid="worker-chart"] circle').count() > 0,
	    'the chart of tick');

	begin('a running sleep job shows in running jobs');
	const active = await apiGet(token, '/api/v1/jobs/active');
	const sl = active.jobs.find((j) => j.job === 'sleeper');
	assert.ok(sl, 'the API lists the sleeper job as running');
	const slRow = page.locator(`[data-testid="job-row"][data-job-id="${sl.job_id}"]`);
	await slRow.waitFor({ state: 'visible' });
	assert.equal(await text(slRow.locator('td').first()), 'sleeper');

	if (QUEUE) {
		begin(`the queues table shows ${QUEUE}`);
		await page.locator(`[data-testid="queue-row"][data-queue="${QUEUE}"]`)
		    .waitFor({ state: 'visible' });
		assert.match(await text(tid('dlq-count')), /^\d+$/);
	}

	if (STREAM) {
		begin(`the streams table shows ${STREAM}, its group's name as text`);
		const row = page.locator(`[data-testid="stream-row"][data-stream="${STREAM}"]`);
		await until(async () => await row.count() === 1 &&
		    (await row.locator('td').nth(2).textContent()).includes(HOSTILE_MARK),
		    `the row of ${STREAM} and its group`);
		const cells = await row.locator('td').allTextContents();
		assert.deepEqual(cells.map((c) => c.trim()), [STREAM, String(STREAM_LENGTH),
			(await row.getAttribute('data-group')), '1', String(STREAM_LENGTH - 1)]);
		assert.equal(await row.locator('td img').count(), 0, 'the group name is not markup');
		assert.equal(await page.evaluate(() => window.__mvPwned ?? null), null);
	}

	await shares(page);
	await pauseResume(page, token);
	await triggerManual(page, token);
	await deadLetters(page, token);
	await failures(page);
	await times(page);
	await screenshots(page);
	await longSpan(page);
	await reprocessAllPurge(page, token);
	await revoke(page, token, sl.job_id);
	await hiddenTab(page, requests);
	await reload(page, token);
}

async function shares(page) {
	begin('a queue\'s share: "any" for 0, else its percentage');
	const share = (q) => page.locator(`[data-testid="queue-row"][data-queue="${q}"] td.share`);
	await until(async () => await text(share('dead')) === '50 %', 'dead at 50 %');
	if (QUEUE)
		assert.equal(await text(share(QUEUE)), 'any');
}

async function dlqEntries(token) {
	return (await apiGet(token, '/api/v1/dlq?count=1000')).entries;
}

function dlqRow(page, id) {
	return page.locator(`[data-testid="dlq-row"][data-dlq-id="${id}"]`);
}

// The rows of the dead letters as the page shows them.
async function dlqRows(page) {
	return page.locator('[data-testid="dlq-row"]').evaluateAll((rows) =>
	    rows.map((r) => ({ id: r.dataset.dlqId,
		job: r.querySelector('[data-testid="dlq-job"]').textContent,
		reason: r.querySelector('[data-testid="dlq-reason"]').textContent,
		queue: r.querySelector('[data-testid="dlq-queue"]').textContent,
		attempts: r.querySelector('[data-testid="dlq-attempts"]').textContent,
		owner: r.querySelector('[data-testid="dlq-owner"]').textContent,
		when: r.querySelector('[data-testid="dlq-when"]').textContent })));
}

async function deadLetters(page, token) {
	begin('the dead letters are listed, markup as text');
	const entries = await dlqEntries(token);
	assert.equal(entries.length, 3, 'three dead letters to begin with');
	await until(async () => (await dlqRows(page)).length === 3, 'three rows');
	const rows = await dlqRows(page);
	for (const e of entries) {
		const r = rows.find((x) => x.id === e.dlq_id);
		assert.ok(r, `a row for ${e.dlq_id}`);
		assert.deepEqual([r.job, r.reason, r.queue, r.owner],
		    [e.fields.job, e.reason, e.queue,
		    `${e.fields.tenant_id} / ${e.fields.user_id}`], `the row of ${e.dlq_id}`);
		assert.match(r.attempts, /^\d+$/);
		assert.match(r.when, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${ZONE_NAME.replace('+', '\\+')}$`));
	}
	assert.ok(rows.some((r) => r.job.includes('<img src=x onerror=')),
	    'a job name with markup, as text');
	assert.ok(rows.some((r) => r.reason.includes('<img src=x onerror=')),
	    'a reason with markup, as text');
	assert.ok(rows.some((r) => r.owner === 't1 / <b>mallory</b>'),
	    'a user with markup, as text');
	assert.equal(await page.locator('[data-testid="dlq"] img, [data-testid="dlq"] b').count(), 0,
	    'no markup from the dead letters');
	assert.equal(await text(page.locator('#dlq-h')).then((t) => /\(3\)/.test(t)), true,
	    'the heading counts 3');

	begin('reprocess one dead letter');
	const run = entries.find((e) => e.queue === 'dead');
	assert.ok(run, 'the dead letter of the failed run');
	assert.equal(run.fields.job, 'hostile');
	assert.match(run.reason, /\S/, 'it has a reason');
	await dlqRow(page, run.dlq_id).locator('[data-testid="dlq-reprocess"]').click();
	await dlqRow(page, run.dlq_id).waitFor({ state: 'detached' });
	assert.equal(await text(page.locator('[data-testid="action-status"]')),
	    `Reprocessed hostile (${run.dlq_id}): back on queue dead.`);
	// It ran again and failed again: a new dead letter, the old one gone.
	await until(async () => {
		const now = await dlqEntries(token);
		return !now.some((e) => e.dlq_id === run.dlq_id) &&
		    now.some((e) => e.queue === 'dead' && e.job_id === run.job_id);
	}, 'hostile run again and back in the dead letters');
	await until(async () => (await dlqRows(page)).length === 3, 'three rows again');
}

// A history over three hours, ending now: buckets of 15 min (5 min would
// be over 30 of them), ticks on round times.
async function longSpan(page) {
	begin('a chart over three hours counts runs per 15 min');
	const now = Date.now();
	const history = Array.from({ length: 19 }, (_, i) => ({
		job_id: `synthetic-${i}`, status: i % 4 ? 'success' : 'failed',
		duration: 0.5 + i / 10, attempt: 1,
		completed_at: new Date(now - i * 600000).toISOString() }));
	const fake = (route) => route.fulfill({ status: 200,
	    contentType: 'application/json', body: JSON.stringify({ history }) });
	await page.route('**/api/v1/workers/monitor/tick/history*', fake);
	try {
		const card = page.locator('[data-testid="worker-card"][data-worker="tick"]');
		await until(async () => await text(card.locator('[data-testid="chart-bucket"]')) ===
		    'Runs per 15 min', 'tick\'s chart in 15 min buckets');
		const ticks = await card.locator('svg text:not(.title):not([data-testid])')
		    .allTextContents();
		assert.ok(ticks.some((t) => /^\d\d:(00|30)$/.test(t)),
		    `ticks at round times: ${JSON.stringify(ticks)}`);
		assert.equal(await text(card.locator('svg text.title').nth(1)),
		    'Duration of each run (s)');
		await charts(page, 'a span of three hours');
		await card.screenshot({ path: join(OUT, 'chart-3h.png') });
	} finally {
		await page.unroute('**/api/v1/workers/monitor/tick/history*', fake);
	}
}

async function reprocessAllPurge(page, token) {
	begin('reprocess all the dead letters, after a confirmation');
	const before = await dlqEntries(token);
	assert.equal(before.length, 3);
	await until(async () => (await dlqRows(page)).length === 3, 'three rows');
	dialogs.seen.length = 0;
	await page.locator('[data-testid="dlq-reprocess-all"]').click();
	assert.match(dialogs.seen.join('|'), /^Put all 3 dead letters back/);
	await until(async () => await text(page.locator('[data-testid="action-status"]')) ===
	    'Reprocessed 3 dead letters.', 'the answer of reprocess all');
	// Each fails again: three new dead letters, none of the old ones.
	await until(async () => {
		const now = await dlqEntries(token);
		return now.length === 3 && !now.some((e) =>
		    before.some((b) => b.dlq_id === e.dlq_id));
	}, 'three new dead letters');

	begin('purge asks first: dismissed, nothing goes');
	const entries = await dlqEntries(token);
	await until(async () => {
		const ids = (await dlqRows(page)).map((r) => r.id).sort();
		return ids.join() === entries.map((e) => e.dlq_id).sort().join();
	}, 'the rows of the new dead letters');
	dialogs.seen.length = 0;
	dialogs.accept = false;
	try {
		await page.locator('[data-testid="dlq-purge"]').click();
	} finally {
		dialogs.accept = true;
	}
	assert.match(dialogs.seen.join('|'), /^Delete all 3 dead letters\?/);
	await new Promise((r) => setTimeout(r, 500));
	assert.equal((await dlqEntries(token)).length, 3, 'still 3 after a dismissed purge');

	begin('purge, confirmed');
	await page.locator('[data-testid="dlq-purge"]').click();
	await until(async () => await text(page.locator('[data-testid="action-status"]')) ===
	    'Purged 3 dead letters.', 'the answer of purge');
	assert.equal((await dlqEntries(token)).length, 0, 'no dead letter left');
	await until(async () => await text(page.locator('[data-testid="dlq"] tbody')) ===
	    'No dead letter.', 'the empty list');
	assert.ok(await page.locator('[data-testid="dlq-purge"]').isDisabled(),
	    'nothing left to purge');
}

// Every absolute time: local date, time and the zone named; its ISO time
// in the title.
async function times(page) {
	begin(`times carry their zone (${ZONE_NAME})`);
	const all = await page.locator('time').evaluateAll((ts) => ts
	    .filter((t) => t.textContent !== '—')
	    .map((t) => ({ text: t.textContent, title: t.title, dt: t.getAttribute('datetime') })));
	assert.ok(all.length >= 5, `times shown: ${all.length}`);
	for (const t of all) {
		assert.match(t.title, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO in the title');
		assert.equal(t.dt, t.title);
		const local = new Date(Date.parse(t.title) + ZONE_OFFSET_MS).toISOString();
		assert.equal(t.text, local.slice(0, 10) + ' ' + local.slice(11, 19) + ' ' + ZONE_NAME,
		    `the time of ${t.title}`);
	}
	const upd = page.locator('[data-testid="last-update"]');
	assert.match(await text(upd), new RegExp(`^updated \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${ZONE_NAME.replace('+', '\\+')}$`));
	const axis = await page.locator('[data-testid="chart-time"]').allTextContents();
	assert.ok(axis.length > 0 && axis.every((a) => a.startsWith(`Time (${ZONE_NAME}) `)),
	    `the charts' time axes: ${JSON.stringify(axis)}`);
}

// The charts' text as rendered, and their bucket sizes.
async function charts(page, what) {
	// One task in the page: a chart redrawn meanwhile is not half seen.
	const got = await page.evaluate(() => Array.from(
	    document.querySelectorAll('svg[data-testid="worker-chart"]'), (s) => {
		const scale = s.getBoundingClientRect().width / s.viewBox.baseVal.width;
		const px = Array.from(s.querySelectorAll('text'), (t) =>
		    parseFloat(getComputedStyle(t).fontSize) * scale);
		const vis = s.getBoundingClientRect().right <=
		    s.parentNode.getBoundingClientRect().right + 1;
		return { min: Math.min(...px), n: px.length, vis,
		    bucket: s.querySelector('[data-testid="chart-bucket"]').textContent };
	}));
	assert.ok(got.length >= 2, `charts at ${what}: ${got.length}`);
	for (const c of got) {
		assert.ok(c.n >= 6, 'the chart has its labels');
		assert.ok(c.min >= MIN_FONT_PX, `chart text at ${what}: ${c.min.toFixed(1)} px`);
		assert.ok(c.vis, `the chart fits its card at ${what}`);
		assert.match(c.bucket, ROUND_BUCKET);
	}
	log(`charts at ${what}: text >= ${Math.min(...got.map((c) => c.min)).toFixed(1)} px, ` +
	    `buckets ${[...new Set(got.map((c) => c.bucket))].join(', ')}`);
}

async function pauseResume(page, token) {
	const row = page.locator('[data-testid="schedule-row"][data-job="tick"]');
	const st = row.locator('[data-testid="schedule-state"]');
	begin('pause a schedule');
	await until(async () => await text(st) === 'active', 'tick active');
	assert.notEqual(await text(row.locator('[data-testid="schedule-next"]')), '—',
	    'an active schedule shows its next run');
	await row.locator('[data-testid="pause"]').click();
	await until(async () => await text(st) === 'paused', 'tick shown paused');
	let j = await schedJob(token, 'tick');
	assert.equal(j.paused, true, 'the API says tick is paused');
	assert.equal(j.next_run, null, 'a paused job has no next run');
	assert.equal(await text(row.locator('[data-testid="schedule-next"]')), '—');
	assert.ok(await row.locator('[data-testid="pause"]').isHidden());
	assert.match(await text(page.locator('[data-testid="action-status"]')), /^Paused tick\.$/);

	begin('a paused schedule does not fire');
	const before = (await workerStats(token, 'tick')).total_executions;
	await new Promise((r) => setTimeout(r, 3000));
	const after = (await workerStats(token, 'tick')).total_executions;
	assert.ok(after - before <= 1, `tick ran ${after - before} times while paused`);

	begin('resume it');
	await row.locator('[data-testid="resume"]').click();
	await until(async () => await text(st) === 'active', 'tick shown active');
	j = await schedJob(token, 'tick');
	assert.equal(j.paused, false, 'the API says tick is not paused');
	assert.notEqual(j.next_run, null, 'a resumed job has a next run');
	assert.ok(await row.locator('[data-testid="resume"]').isHidden());
}

async function triggerManual(page, token) {
	begin('trigger a job and see the run counted');
	const card = page.locator('[data-testid="worker-card"][data-worker="manual"]');
	const succ = card.locator('[data-testid="worker-success"]');
	await until(async () => Number.isInteger(await intOf(succ)), 'manual\'s count');
	const before = await intOf(succ);
	const row = page.locator('[data-testid="schedule-row"][data-job="manual"]');
	assert.equal(await text(row.locator('[data-testid="schedule-state"]')), 'on demand');
	assert.ok(await row.locator('[data-testid="pause"]').isHidden(),
	    'no Pause for a job without a schedule');
	await row.locator('[data-testid="trigger"]').click();
	await until(async () => /^Triggered manual \(.+\)\.$/.test(
	    await text(page.locator('[data-testid="action-status"]'))), 'the trigger\'s answer');
	await until(async () => await intOf(succ) === before + 1, `manual at ${before + 1} successes`);
	const api = await workerStats(token, 'manual');
	assert.equal(api.successful_executions, before + 1, 'the API counts the run');
	assert.equal(await text(card.locator('[data-testid="worker-status"]')), 'success');
}

async function failures(page) {
	begin('a failure shows its stderr tail as text');
	const item = page.locator('[data-testid="failure"][data-worker="hostile"]').first();
	await item.waitFor({ state: 'visible' });
	const pre = item.locator('[data-testid="failure-stderr"]');
	assert.ok(await pre.isHidden(), 'the stderr tail starts folded');
	await item.locator('summary').click();
	await pre.waitFor({ state: 'visible' });
	const tail = await pre.textContent();
	assert.ok(tail.includes(HOSTILE_MARK), `the stderr tail as text: ${tail}`);
	assert.ok(tail.includes('<script>'), 'the script tag as text');
	assert.ok(tail.includes('line before'), 'the line before it');
	const dom = await page.evaluate(() => ({
		imgs: document.querySelectorAll('img').length,
		scripts: document.scripts.length,
		bold: document.querySelectorAll('[data-testid="failures"] b').length,
		pwned: window.__mvPwned ?? null,
		title: document.title }));
	assert.deepEqual(dom, { imgs: 0, scripts: 1, bold: 0, pwned: null, title: 'mailvisord' },
	    'worker output never becomes markup');
	assert.match(await text(item.locator('[data-testid="failure-status"]')), /^failed$/);

	begin('an opened tail stays open across refreshes');
	await new Promise((r) => setTimeout(r, 4500));
	assert.ok(await pre.isVisible(), 'still open after two polls');
}

async function screenshots(page) {
	begin(`screenshots, wide (${WIDE.width} px) and narrow (${NARROW.width} px); the charts in both`);
	await charts(page, `${WIDE.width} px`);
	await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });
	await page.setViewportSize(NARROW);
	await new Promise((r) => setTimeout(r, 500));
	const over = await page.evaluate(() =>
	    document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(over <= 1, `the narrow page scrolls sideways by ${over}px`);
	await charts(page, `${NARROW.width} px`);
	await page.screenshot({ path: join(OUT, 'dashboard-narrow.png'), fullPage: true });
	const dlq = page.locator('[data-testid="dead-letters"]');
	assert.ok(await dlq.locator('[data-testid="dlq-reprocess"]').first().isVisible(),
	    'Reprocess in view at narrow width');
	const box = await dlq.locator('[data-testid="dlq-reprocess"]').first().boundingBox();
	assert.ok(box.x + box.width <= NARROW.width, `Reprocess at x ${box.x}`);
	await dlq.screenshot({ path: join(OUT, 'dead-letters-narrow.png') });
	await page.setViewportSize(WIDE);
	log(`screenshots in ${OUT}`);
}

async function revoke(page, token, id) {
	begin('revoke the running job');
	const row = page.locator(`[data-testid="job-row"][data-job-id="${id}"]`);
	await row.locator('[data-testid="revoke"]').click();
	await row.waitFor({ state: 'detached' });
	assert.match(await text(page.locator('[data-testid="action-status"]')),
	    new RegExp(`^Revoked sleeper ${id}`));
	await until(async () => {
		const h = await apiGet(token, '/api/v1/workers/monitor/sleeper/history?limit=1');
		return h.history.length && h.history[0].job_id === id &&
		    h.history[0].status === 'revoked';
	}, 'the revoked record of the sleeper');
}

// Polling stops while the tab is hidden and starts again when shown.
async function hiddenTab(page, requests) {
	begin('no polling while the tab is hidden');
	const flip = (hidden) => page.evaluate((h) => {
		Object.defineProperty(document, 'hidden', { value: h, configurable: true });
		Object.defineProperty(document, 'visibilityState',
		    { value: h ? 'hidden' : 'visible', configurable: true });
		document.dispatchEvent(new Event('visibilitychange'));
	}, hidden);
	await flip(true);
	await new Promise((r) => setTimeout(r, 1500));
	const n = requests();
	await new Promise((r) => setTimeout(r, 4500));
	assert.equal(requests() - n, 0, 'requests while hidden');
	await flip(false);
	await until(() => requests() > n, 'polling after the tab shows again', 5000);
}

async function reload(page, token) {
	begin('the token outlives a reload of the tab; a loading state until the data');
	let release;
	const held = new Promise((r) => { release = r; });
	const hold = async (route) => {
		await held;
		await route.continue().catch(() => {});	// cancelled meanwhile
	};
	await page.route('**/api/v1/**', hold);
	await page.reload();
	const loading = page.locator('[data-testid="loading"]');
	await until(async () => await loading.count() === 7, 'seven loading placeholders');
	for (const sect of ['running-jobs', 'schedules', 'queues', 'streams', 'dlq', 'workers', 'failures']) {
		const l = page.locator(`[data-testid="${sect}"] [data-testid="loading"]`);
		assert.ok(await l.isVisible(), `${sect} shows it is loading`);
		assert.equal(await text(l), 'Loading…');
	}
	assert.equal(await text(page.locator('[data-testid="last-update"]')), 'Loading…');
	assert.equal(await page.locator('[data-testid="queue-row"], [data-testid="schedule-row"], [data-testid="stream-row"]').count(), 0);
	release();
	await page.unroute('**/api/v1/**', hold);
	await until(async () => /^updated /.test(await text(page.locator('[data-testid="last-update"]'))),
	    'data after the reload');
	assert.equal(await loading.count(), 0, 'no loading placeholder left');
	assert.ok(await page.locator('[data-testid="dlq"] tr.empty').isVisible(), 'an empty list, said so');

	begin('the token can be forgotten');
	assert.ok(await page.locator('[data-testid="token-form"]').isHidden());
	const html = await page.content();
	assert.ok(!html.includes(token), 'the token is not in the page');
	await page.locator('[data-testid="forget-token"]').click();
	await page.locator('[data-testid="token-form"]').waitFor({ state: 'visible' });
	assert.equal(await page.evaluate(() => sessionStorage.length), 0);
}

const watchdog = setTimeout(() => {
	console.error(`dashboard: FAIL: the test took over ${TOTAL_MS / 1000} s (at: ${step})`);
	process.exit(1);
}, TOTAL_MS);

main().then(() => {
	clearTimeout(watchdog);
	log('all checks passed');
}, (e) => {
	clearTimeout(watchdog);
	console.error(`dashboard: FAIL at "${step}": ${e.message}`);
	process.exitCode = 1;
});
