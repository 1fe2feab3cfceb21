// The dashboard page in headless Chromium against a running mailvisord:
// token form, live data, pause/resume/trigger/revoke clicks checked in the
// page and through the API, failures' stderr shown as text, a screenshot.
//
// Environment (tests/integration/t220-mvd-dashboard.sh sets it):
//   MV_DASH_URL         the daemon's base URL, e.g. http://127.0.0.1:8080
//   MV_DASH_TOKEN_FILE  the daemon's token file
//   MV_DASH_OUT         directory for screenshots (default: a new temp dir)
//   MV_DASH_QUEUE       a configured queue the queues table must show
//   CHROMIUM            the browser (default /usr/bin/chromium)
// The daemon's configuration has these jobs: "tick" (scheduled every second
// or so, succeeds), "manual" (no schedule, succeeds), "sleeper" (running
// now, sleeps), "hostile" (failed, with markup on its stderr).
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
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const HOSTILE_MARK = '<img src=x onerror=';
const STEP_MS = 20000;
const TOTAL_MS = 180000;

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
		const context = await browser.newContext({
			viewport: { width: 1280, height: 1000 } });
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
		page.on('dialog', (d) => d.accept());
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

	await pauseResume(page, token);
	await triggerManual(page, token);
	await failures(page);
	await screenshots(page);
	await revoke(page, token, sl.job_id);
	await hiddenTab(page, requests);
	await reload(page, token);
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
	begin('screenshots, wide and narrow');
	await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });
	await page.setViewportSize({ width: 390, height: 844 });
	await new Promise((r) => setTimeout(r, 500));
	const over = await page.evaluate(() =>
	    document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(over <= 1, `the narrow page scrolls sideways by ${over}px`);
	await page.screenshot({ path: join(OUT, 'dashboard-narrow.png'), fullPage: true });
	await page.setViewportSize({ width: 1280, height: 1000 });
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
	begin('the token outlives a reload of the tab, and can be forgotten');
	await page.reload();
	await until(async () => /^updated /.test(await text(page.locator('[data-testid="last-update"]'))),
	    'data after the reload');
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
