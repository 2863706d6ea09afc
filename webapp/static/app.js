// app.js: the member web app's screens. Everything a member does is
// written to the local database first (a row change and an outbox entry
// in one transaction, in the worker) and sent by sync.js when there is a
// network; the screens read only the local database.
import { openDB } from './db.js';
import { Sync, ApiError } from './sync.js';
import { t, label, getLang, setLang } from './i18n.js';
import { h, fmtTime, fmtNumber, localInput, rfc3339, badge, select, toast } from './ui.js';
import { renderSync } from './sync-screen.js';
import { watchHandOver } from './handover.js';

const db = openDB();
globalThis.tosoDB = db; // the local database from the console (and the browser tests)
let sync;
let user = null;
let deviceId = '';
let storage = '';
let lastError = '';
let syncing = false;
let handedOver = false; // another tab took the database: this one shows only that

const view = () => document.getElementById('view');
// Screens return their nodes; route shows them only if no newer route
// started meanwhile (a sync finishing late must not cover the screen the
// person went to).
const show = (...nodes) => nodes;
let routeSeq = 0;
const uuid = () => crypto.randomUUID();

async function catalog(table) {
	const rows = await db.rows(table);
	return rows.map((r) => r.row).sort((a, b) => (a.sort - b.sort) || a.code.localeCompare(b.code));
}

// ---- sync status --------------------------------------------------------

async function renderStatus() {
	const el = document.getElementById('sync-status');
	if (!user || handedOver) {
		el.textContent = '';
		return;
	}
	const [n, m] = await Promise.all([db.pending(), db.meta(['last_sync'])]);
	const parts = [navigator.onLine ? (syncing ? t('syncing') : t('online')) : t('offline'), t('waiting', n),
		m.last_sync ? t('synced_at', fmtTime(m.last_sync)) : t('never_synced')];
	el.textContent = parts.join(' · ');
	el.dataset.pending = String(n);
	el.dataset.online = String(navigator.onLine);
}

// syncNow pushes and pulls when online; errors are kept for the sync
// screen, never thrown at the user mid-form.
async function syncNow() {
	if (handedOver) return false;
	if (!user || !navigator.onLine) {
		await renderStatus();
		return false;
	}
	syncing = true;
	await renderStatus();
	let ok = true;
	try {
		await sync.sync();
		lastError = '';
	} catch (e) {
		ok = false;
		lastError = e.message;
		if (e instanceof ApiError && (e.code === 'token_reused' || e.status === 401)) {
			const m = await db.meta(['access_token']);
			if (!m.access_token) {
				user = null;
				location.hash = '#/login';
			}
		}
	} finally {
		syncing = false;
	}
	document.body.dataset.lastSync = ok ? 'ok' : 'failed';
	await renderStatus();
	// Show what arrived, unless the person is filling a form.
	if (!document.querySelector('#view form:not(#login)')) await route();
	return ok;
}

// ---- screens ------------------------------------------------------------

function renderLogin(message) {
	document.getElementById('nav').hidden = true;
	const err = h('p', { id: 'login-error', class: 'error', role: 'alert' }, message || '');
	const form = h('form', { id: 'login', class: 'card', novalidate: true },
		h('h1', {}, t('sign_in')),
		h('label', { for: 'phone' }, t('phone')),
		h('input', { id: 'phone', name: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'username', required: true }),
		h('label', { for: 'password' }, t('password')),
		h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
		err,
		h('button', { id: 'signin', type: 'submit', class: 'primary' }, t('sign_in')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!navigator.onLine) {
			err.textContent = t('sign_in_offline');
			return;
		}
		err.textContent = t('signing_in');
		try {
			user = await sync.login(form.phone.value.trim(), form.password.value);
			form.password.value = '';
			location.hash = '#/logs';
			await syncNow();
		} catch (e) {
			err.textContent = e.message;
		}
	});
	return show(form);
}

// logsList merges the synced rows with outbox creates not pulled yet.
async function logsList() {
	const [rows, outbox] = await Promise.all([db.rows('assistance_logs'), db.outbox()]);
	const byId = new Map(rows.map((r) => [r.id, { row: r.row, state: r.row.locked ? 'locked' : 'synced' }]));
	const out = [];
	const reentry = new Map(); // log id → the mid of the entry whose number must be entered again
	for (const e of outbox) {
		if (e.tbl !== 'assistance_logs' || e.op !== 'create') continue;
		if (e.reentry) reentry.set(e.id, e.mid);
		if (byId.has(e.id)) continue;
		const state = e.status === null ? 'pending' : e.status === 'rejected' ? 'rejected' : 'sent';
		out.push({ id: e.id, row: e.fields || {}, state, message: e.message });
	}
	for (const [id, v] of byId) out.push({ id, ...v });
	for (const l of out) l.reentry = reentry.get(l.id);
	out.sort((a, b) => String(b.row.occurred_at).localeCompare(String(a.row.occurred_at)));
	return out;
}

async function renderLogs() {
	const [logs, services] = await Promise.all([logsList(), catalog('services')]);
	const names = new Map(services.map((s) => [s.code, label(s)]));
	const list = logs.length === 0 ? h('p', { class: 'empty' }, t('no_logs')) : h('ul', { id: 'log-list', class: 'list' },
		logs.map((l) => h('li', { 'data-id': l.id, 'data-state': l.state },
			h('div', { class: 'row-head' }, h('strong', {}, l.row.citizen_name || t('citizen')), badge(l.state, l.message)),
			h('div', { class: 'muted' }, fmtTime(l.row.occurred_at)),
			h('div', {}, (l.row.outcomes || []).map((o) => `${names.get(o.service) || o.service} (${t('results')[o.result] || o.result})`).join(', ')),
			l.reentry ? h('p', { class: 'reentry-note' }, badge('reentry'), ' ',
				h('a', { href: `#/logs/number/${l.reentry}`, 'data-reentry': String(l.reentry) }, t('reentry_action'))) : null)));
	return show(h('h1', {}, t('logs_title')),
		h('a', { id: 'new-log', class: 'button primary', href: '#/logs/new' }, t('new_log')), list);
}

async function renderLogForm() {
	const [services, barriers] = await Promise.all([catalog('services'), catalog('barriers')]);
	const active = services.filter((s) => s.active);
	const barrierOpts = [['', t('choose')], ...barriers.filter((b) => b.active).map((b) => [b.code, label(b)])];
	const resultOpts = Object.entries(t('results'));
	const err = h('p', { id: 'form-error', class: 'error', role: 'alert' });
	const serviceRows = active.map((s, i) => {
		const check = h('input', { type: 'checkbox', id: `svc-${i}`, name: 'service', value: s.code });
		const result = select(`res-${i}`, `result-${s.code}`, resultOpts, 'done');
		const barrier = select(`bar-${i}`, `barrier-${s.code}`, barrierOpts, '');
		const barrierBox = h('div', { class: 'field', hidden: true }, h('label', { for: `bar-${i}` }, t('barrier')), barrier);
		const details = h('div', { class: 'svc-details', hidden: true },
			h('div', { class: 'field' }, h('label', { for: `res-${i}` }, t('result')), result), barrierBox);
		check.addEventListener('change', () => { details.hidden = !check.checked; });
		result.addEventListener('change', () => { barrierBox.hidden = result.value === 'done'; });
		return { s, check, result, barrier, el: h('div', { class: 'svc' }, h('label', { class: 'check' }, check, ' ', label(s)), details) };
	});
	const consent = h('input', { type: 'checkbox', id: 'consent', name: 'consent' });
	const nameBox = h('div', { class: 'field', hidden: true },
		h('label', { for: 'citizen-name' }, t('citizen_name')), h('input', { id: 'citizen-name', name: 'citizen_name', autocomplete: 'off', maxlength: 200 }));
	consent.addEventListener('change', () => { nameBox.hidden = !consent.checked; });
	const form = h('form', { id: 'log-form', novalidate: true },
		h('h1', {}, t('log_form')),
		h('fieldset', {}, h('legend', {}, t('services')), serviceRows.map((r) => r.el)),
		h('div', { class: 'field' }, h('label', { for: 'occurred-at' }, t('occurred_at')),
			h('input', { id: 'occurred-at', name: 'occurred_at', type: 'datetime-local', value: localInput(new Date()) })),
		h('div', { class: 'field' }, h('label', { for: 'age-band' }, t('age_band')), select('age-band', 'age_band', Object.entries(t('ages')), '')),
		h('div', { class: 'field' }, h('label', { for: 'gender' }, t('gender')), select('gender', 'gender', Object.entries(t('genders')), '')),
		h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'minority', name: 'minority' }), ' ', t('minority')),
		h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'disability', name: 'disability' }), ' ', t('disability')),
		h('div', { class: 'field' }, h('label', { for: 'id-number' }, t('id_number')),
			h('input', { id: 'id-number', name: 'citizen_id_number', inputmode: 'numeric', autocomplete: 'off', maxlength: 16, 'aria-describedby': 'id-hint' }),
			h('p', { id: 'id-hint', class: 'muted' }, t('id_hint'))),
		h('label', { class: 'check' }, consent, ' ', t('consent')),
		nameBox,
		h('div', { class: 'field' }, h('label', { for: 'notes' }, t('notes')), h('textarea', { id: 'notes', name: 'notes', rows: 2, maxlength: 2000 })),
		err,
		h('div', { class: 'actions' }, h('button', { id: 'save-log', type: 'submit', class: 'primary' }, t('save')),
			h('a', { class: 'button', href: '#/logs' }, t('cancel'))));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const outcomes = [];
		for (const r of serviceRows) {
			if (!r.check.checked) continue;
			const o = { service: r.s.code, result: r.result.value };
			if (o.result !== 'done') {
				if (!r.barrier.value && o.result === 'not_done') {
					err.textContent = t('need_barrier', label(r.s));
					r.barrier.focus();
					return;
				}
				if (r.barrier.value) o.barrier = r.barrier.value;
			}
			outcomes.push(o);
		}
		if (outcomes.length === 0) {
			err.textContent = t('need_service');
			return;
		}
		const idNumber = form.citizen_id_number.value.replace(/\s/g, '');
		if (idNumber && !/^\d{12}$/.test(idNumber)) {
			err.textContent = t('bad_id');
			form.citizen_id_number.focus();
			return;
		}
		const name = form.citizen_name.value.trim();
		if (consent.checked && !name) {
			err.textContent = t('need_name');
			form.citizen_name.focus();
			return;
		}
		const fields = {
			occurred_at: rfc3339(form.occurred_at.value), outcomes, consent: consent.checked,
			age_band: form.age_band.value, gender: form.gender.value,
			minority: form.minority.checked, disability: form.disability.checked,
		};
		if (consent.checked) fields.citizen_name = name;
		if (idNumber) fields.citizen_id_number = idNumber;
		if (form.notes.value.trim()) fields.notes = form.notes.value.trim();
		await db.write([{ table: 'assistance_logs', op: 'create', id: uuid(), fields }]);
		form.citizen_id_number.value = '';
		toast(t('saved'));
		location.hash = '#/logs';
		syncNow();
	});
	return show(form);
}

// renderReentry asks for the citizen number of a log that the server lost
// in a restore and got back without it (the app had deleted the number
// after the first send, as it must). The number goes as a patch and is
// deleted again once sent; "no number" leaves the log without a ref.
async function renderReentry(mid) {
	const e = (await db.outbox()).find((x) => x.mid === mid && x.reentry);
	if (!e) {
		location.hash = '#/logs';
		return;
	}
	const f = e.fields || {};
	const err = h('p', { id: 'form-error', class: 'error', role: 'alert' });
	const form = h('form', { id: 'reentry-form', novalidate: true },
		h('h1', {}, t('reentry_title')),
		h('p', {}, t('reentry_help', f.citizen_name || t('citizen'), fmtTime(f.occurred_at))),
		h('div', { class: 'field' }, h('label', { for: 'id-number' }, t('id_number')),
			h('input', { id: 'id-number', name: 'citizen_id_number', inputmode: 'numeric', autocomplete: 'off', maxlength: 16, 'aria-describedby': 'id-hint' }),
			h('p', { id: 'id-hint', class: 'muted' }, t('id_hint'))),
		err,
		h('div', { class: 'actions' }, h('button', { id: 'save-number', type: 'submit', class: 'primary' }, t('save')),
			h('button', { id: 'no-number', type: 'button', onclick: async () => {
				await db.reenter(mid, '');
				location.hash = '#/logs';
			} }, t('reentry_none'))));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const n = form.citizen_id_number.value.replace(/\s/g, '');
		if (!/^\d{12}$/.test(n)) {
			err.textContent = t('bad_id');
			form.citizen_id_number.focus();
			return;
		}
		await db.reenter(mid, n);
		form.citizen_id_number.value = '';
		toast(t('saved'));
		location.hash = '#/logs';
		syncNow();
	});
	return show(form);
}

async function sessionsList() {
	const [rows, attendees, outbox, conflicts] = await Promise.all([db.rows('training_sessions'), db.rows('session_attendees'), db.outbox(),
		db.rows('sync_conflicts')]);
	const open = new Set(conflicts.filter((c) => !c.row.resolved && c.row.table === 'training_sessions').map((c) => c.row.row_id));
	const count = new Map();
	for (const a of attendees) if (!a.row.removed) count.set(a.row.session_id, (count.get(a.row.session_id) || 0) + 1);
	const byId = new Map(rows.map((r) => [r.id, { row: r.row, version: r.version, state: 'synced' }]));
	const out = [];
	const pendingPatch = new Map();
	for (const e of outbox) {
		if (e.tbl !== 'training_sessions') continue;
		if (e.op === 'patch' && e.status === null) pendingPatch.set(e.id, { ...(pendingPatch.get(e.id) || {}), ...e.fields });
		if (e.op !== 'create' || byId.has(e.id)) continue;
		const state = e.status === null ? 'pending' : e.status === 'rejected' ? 'rejected' : 'sent';
		out.push({ id: e.id, row: e.fields || {}, state, message: e.message, version: 0 });
	}
	for (const [id, v] of byId) out.push({ id, ...v });
	for (const s of out) {
		const p = pendingPatch.get(s.id);
		if (p) {
			s.row = { ...s.row, ...p };
			s.state = 'pending';
		}
		s.people = count.get(s.id) || 0;
		s.conflict = open.has(s.id);
	}
	out.sort((a, b) => String(b.row.held_at || b.row.scheduled_at).localeCompare(String(a.row.held_at || a.row.scheduled_at)));
	return out;
}

async function renderSessions() {
	const sessions = await sessionsList();
	const lead = user.role === 'team_lead';
	const list = sessions.length === 0 ? h('p', { class: 'empty' }, t('no_sessions')) : h('ul', { id: 'session-list', class: 'list' },
		sessions.map((s) => h('li', { 'data-id': s.id, 'data-state': s.state, 'data-status': s.row.status },
			h('div', { class: 'row-head' }, h('strong', {}, s.row.place || '—'), badge(s.state, s.message)),
			h('div', { class: 'muted' }, `${fmtTime(s.row.held_at || s.row.scheduled_at)} · ${t('status')[s.row.status] || s.row.status}`),
			h('div', {}, `${t('attendee_count')}: ${s.row.attendees || 0}` + (s.people ? ` · ${t('people', s.people)}` : '')),
			s.row.notes ? h('div', { class: 'muted' }, s.row.notes) : null,
			s.conflict ? h('p', { class: 'conflict-note' }, h('a', { href: '#/sync', 'data-conflict-of': s.id }, t('conflict_link'))) : null,
			s.version > 0 && s.row.status !== 'locked' ? h('a', { class: 'button edit', href: `#/sessions/edit/${s.id}`, 'data-edit': s.id }, t('edit')) : null,
			lead && s.row.status === 'held' && s.version > 0 ? h('button', {
				class: 'confirm', type: 'button', 'data-confirm': s.id,
				onclick: async () => {
					await db.write([{ table: 'training_sessions', op: 'patch', id: s.id, base_version: s.version, fields: { status: 'reported' } }]);
					toast(t('confirmed'));
					await route();
					syncNow();
				},
			}, t('confirm_session')) : null)));
	return show(h('h1', {}, t('sessions_title')),
		h('a', { id: 'new-session', class: 'button primary', href: '#/sessions/new' }, t('new_session')), list);
}

async function renderSessionForm() {
	const services = (await catalog('services')).filter((s) => s.active);
	const err = h('p', { id: 'form-error', class: 'error', role: 'alert' });
	const people = h('ul', { id: 'attendee-list', class: 'list' });
	let n = 0;
	const addPerson = () => {
		const i = n++;
		const li = h('li', { class: 'attendee' },
			h('div', { class: 'field' }, h('label', { for: `att-name-${i}` }, t('attendee_name')), h('input', { id: `att-name-${i}`, class: 'att-name', autocomplete: 'off', maxlength: 200 })),
			h('div', { class: 'field' }, h('label', { for: `att-gender-${i}` }, t('gender')), select(`att-gender-${i}`, `att_gender_${i}`, Object.entries(t('genders')), '')),
			h('label', { class: 'check' }, h('input', { type: 'checkbox', id: `att-consent-${i}`, class: 'att-consent', checked: true }), ' ', t('attendee_consent')),
			h('button', { type: 'button', class: 'link', onclick: () => li.remove() }, t('remove')));
		people.append(li);
		li.querySelector('input').focus();
	};
	const held = h('input', { type: 'checkbox', id: 'held', name: 'held', checked: true });
	const form = h('form', { id: 'session-form', novalidate: true },
		h('h1', {}, t('session_form')),
		h('div', { class: 'field' }, h('label', { for: 'place' }, t('place')), h('input', { id: 'place', name: 'place', maxlength: 200, required: true })),
		h('label', { class: 'check' }, held, ' ', t('held')),
		h('div', { class: 'field' }, h('label', { for: 'held-at' }, t('held_at')),
			h('input', { id: 'held-at', name: 'held_at', type: 'datetime-local', value: localInput(new Date()) })),
		h('fieldset', {}, h('legend', {}, t('topics')), services.map((s, i) =>
			h('label', { class: 'check' }, h('input', { type: 'checkbox', id: `topic-${i}`, name: 'topic', value: s.code }), ' ', label(s)))),
		h('fieldset', {}, h('legend', {}, t('attendees')), people,
			h('button', { id: 'add-attendee', type: 'button', onclick: addPerson }, t('add_attendee'))),
		h('div', { class: 'field' }, h('label', { for: 'attendee-count' }, t('attendee_count')),
			h('input', { id: 'attendee-count', name: 'attendees', type: 'number', min: 0, max: 100000, inputmode: 'numeric' })),
		h('div', { class: 'field' }, h('label', { for: 'women' }, t('women')),
			h('input', { id: 'women', name: 'women', type: 'number', min: 0, max: 100000, inputmode: 'numeric' })),
		h('div', { class: 'field' }, h('label', { for: 'session-notes' }, t('notes')), h('textarea', { id: 'session-notes', name: 'notes', rows: 2, maxlength: 2000 })),
		err,
		h('div', { class: 'actions' }, h('button', { id: 'save-session', type: 'submit', class: 'primary' }, t('save')),
			h('a', { class: 'button', href: '#/sessions' }, t('cancel'))));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const place = form.place.value.trim();
		if (!place) {
			err.textContent = t('need_place');
			form.place.focus();
			return;
		}
		const listed = [...people.querySelectorAll('li')].map((li) => ({
			name: li.querySelector('.att-name').value.trim(), gender: li.querySelector('select').value, consent: li.querySelector('.att-consent').checked,
		})).filter((p) => p.name);
		const id = uuid();
		const when = rfc3339(form.held_at.value);
		const fields = {
			place, status: held.checked ? 'held' : 'planned',
			topics: [...form.querySelectorAll('input[name=topic]:checked')].map((c) => c.value),
			attendees: form.attendees.value === '' ? listed.length : Number(form.attendees.value),
			women: form.women.value === '' ? listed.filter((p) => p.gender === 'female').length : Number(form.women.value),
		};
		if (held.checked) fields.held_at = when;
		else fields.scheduled_at = when;
		if (form.notes.value.trim()) fields.notes = form.notes.value.trim();
		// The session and its people go as one group: all applied or none.
		const muts = [{ table: 'training_sessions', op: 'create', id, fields }];
		for (const p of listed) {
			// Without consent the server uses the name only to tell people
			// apart (a hash in the row's id) and does not store it.
			const f = { session_id: id, name: p.name, consent: p.consent, gender: p.gender };
			muts.push({ table: 'session_attendees', op: 'create', id: uuid(), fields: f });
		}
		await db.write(muts, `s-${id}`);
		toast(t('saved'));
		location.hash = '#/sessions';
		syncNow();
	});
	return show(form);
}

// renderSessionEdit changes a synced session: only the fields the person
// changed travel, as a patch on the version this phone last saw, so
// another phone's changes to other fields merge with these.
async function renderSessionEdit(id) {
	const s = (await sessionsList()).find((x) => x.id === id && x.version > 0);
	if (!s) {
		location.hash = '#/sessions';
		return;
	}
	const err = h('p', { id: 'form-error', class: 'error', role: 'alert' });
	const form = h('form', { id: 'session-edit', novalidate: true },
		h('h1', {}, t('edit_session')),
		h('div', { class: 'field' }, h('label', { for: 'place' }, t('place')), h('input', { id: 'place', name: 'place', maxlength: 200, value: s.row.place || '' })),
		h('div', { class: 'field' }, h('label', { for: 'attendee-count' }, t('attendee_count')),
			h('input', { id: 'attendee-count', name: 'attendees', type: 'number', min: 0, max: 100000, inputmode: 'numeric', value: String(s.row.attendees || 0) })),
		h('div', { class: 'field' }, h('label', { for: 'women' }, t('women')),
			h('input', { id: 'women', name: 'women', type: 'number', min: 0, max: 100000, inputmode: 'numeric', value: String(s.row.women || 0) })),
		h('div', { class: 'field' }, h('label', { for: 'session-notes' }, t('notes')),
			h('textarea', { id: 'session-notes', name: 'notes', rows: 3, maxlength: 2000, value: s.row.notes || '' })),
		err,
		h('div', { class: 'actions' }, h('button', { id: 'save-session', type: 'submit', class: 'primary' }, t('save')),
			h('a', { class: 'button', href: '#/sessions' }, t('cancel'))));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const next = {
			place: form.place.value.trim(), attendees: Number(form.attendees.value || 0),
			women: Number(form.women.value || 0), notes: form.notes.value.trim(),
		};
		if (!next.place) {
			err.textContent = t('need_place');
			return;
		}
		const fields = {};
		for (const [k, v] of Object.entries(next)) if (v !== (s.row[k] ?? (typeof v === 'number' ? 0 : ''))) fields[k] = v;
		if (Object.keys(fields).length > 0) {
			await db.write([{ table: 'training_sessions', op: 'patch', id, base_version: s.version, fields }]);
			toast(t('saved'));
		}
		location.hash = '#/sessions';
		syncNow();
	});
	return show(form);
}

async function renderTargets() {
	const [rows, indicators, m] = await Promise.all([db.rows('target_progress'), catalog('indicators'), db.meta(['campaign_ranks'])]);
	const ind = new Map(indicators.map((i) => [i.code, label(i)]));
	const targets = rows.map((r) => r.row).sort((a, b) => String(a.ends_on).localeCompare(String(b.ends_on)));
	const list = targets.length === 0 ? h('p', { class: 'empty' }, t('no_targets')) : h('ul', { id: 'target-list', class: 'list' },
		targets.map((x) => {
			const pct = x.goal > 0 ? Math.min(100, (x.value / x.goal) * 100) : 0;
			return h('li', { 'data-id': x.target_id },
				h('div', { class: 'row-head' }, h('strong', {}, x.name || ind.get(x.indicator) || x.indicator),
					h('span', { class: `pill ${x.status}` }, t('target_status')[x.status] || x.status)),
				h('div', { class: 'muted' }, `${ind.get(x.indicator) || x.indicator} · ${x.starts_on} – ${x.ends_on}`),
				h('progress', { max: 100, value: pct, 'aria-label': x.name || x.indicator }),
				h('div', {}, `${fmtNumber(x.value)}${x.kind === 'percent' ? '%' : ''} / ${t('goal')} ${fmtNumber(x.goal)}${x.kind === 'percent' ? '%' : ''}`));
		}));
	let ranks = null;
	if (user.role === 'team_lead' && m.campaign_ranks) {
		const rs = JSON.parse(m.campaign_ranks);
		ranks = h('section', { id: 'ranks', 'aria-labelledby': 'ranks-title' }, h('h2', { id: 'ranks-title' }, t('campaign_rank')),
			h('ul', { class: 'list' }, rs.map((r) => h('li', {}, h('strong', {}, r.name),
				h('div', {}, `${t('rank_commune', r.commune_rank, r.commune_teams)}, ${t('rank_province', r.province_rank, r.province_teams)}`),
				h('div', { class: 'muted' }, `${r.starts_on} – ${r.ends_on}`)))));
	}
	return show(h('h1', {}, t('targets_title')), ranks, list);
}

async function renderInbox() {
	const [rows, outbox] = await Promise.all([db.rows('announcement_receipts'), db.outbox()]);
	const local = new Map(); // read/ack waiting to sync
	for (const e of outbox) {
		if (e.tbl === 'announcement_receipts' && e.status === null) local.set(e.id, { ...(local.get(e.id) || {}), ...e.fields });
	}
	const items = rows.map((r) => ({ version: r.version, ...r.row, ...(local.get(r.id) || {}) }))
		.sort((a, b) => String(b.published_at).localeCompare(String(a.published_at)));
	const mark = (a, fields) => async () => {
		await db.write([{ table: 'announcement_receipts', op: 'patch', id: String(a.id), base_version: a.version, fields }]);
		await route();
		syncNow();
	};
	const list = items.length === 0 ? h('p', { class: 'empty' }, t('no_inbox')) : h('ul', { id: 'inbox-list', class: 'list' },
		items.map((a) => {
			const now = new Date().toISOString();
			return h('li', { 'data-id': a.id, class: a.read_at ? 'read' : 'unread' },
				h('div', { class: 'row-head' }, h('strong', {}, a.title),
					h('span', { class: `pill ${a.priority}` }, t('priority')[a.priority] || a.priority)),
				h('div', { class: 'muted' }, `${a.author || ''} · ${fmtTime(a.published_at)}`),
				h('p', { class: 'body' }, a.body),
				h('div', { class: 'actions' },
					a.read_at ? h('span', { class: 'badge synced' }, t('read')) : h('button', { type: 'button', class: 'mark-read', onclick: mark(a, { read_at: now }) }, t('mark_read')),
					a.ack_required ? (a.acked_at ? h('span', { class: 'badge synced' }, t('acked'))
						: h('button', { type: 'button', class: 'ack primary', onclick: mark(a, { read_at: a.read_at || now, acked_at: now }) }, t('ack'))) : null));
		}));
	return show(h('h1', {}, t('inbox_title')), list);
}

// app is what the screens in other files need of the shell.
const app = () => ({
	db, user, deviceId, storage, lastError, syncNow, route,
	signOut: async () => {
		await db.signOut();
		user = null;
		location.hash = '#/login';
	},
});

// ---- shell --------------------------------------------------------------

const routes = {
	'#/logs': renderLogs, '#/logs/new': renderLogForm, '#/sessions': renderSessions, '#/sessions/new': renderSessionForm,
	'#/targets': renderTargets, '#/inbox': renderInbox, '#/sync': () => renderSync(app()),
};
const tabs = [['#/logs', 'nav_logs'], ['#/sessions', 'nav_sessions'], ['#/targets', 'nav_targets'], ['#/inbox', 'nav_inbox'], ['#/sync', 'nav_sync']];

function renderChrome() {
	document.title = t('app');
	document.getElementById('app-title').textContent = t('app');
	const lang = document.getElementById('lang');
	lang.textContent = t('lang_switch');
	lang.setAttribute('aria-label', t('lang_switch_label'));
	lang.setAttribute('lang', getLang() === 'vi' ? 'en' : 'vi');
	const nav = document.getElementById('nav');
	nav.setAttribute('aria-label', t('nav'));
	nav.replaceChildren(...tabs.map(([href, key]) => h('a', { href, id: `tab-${href.slice(2)}` }, t(key))));
}

async function route() {
	const mine = ++routeSeq;
	if (handedOver) return;
	if (!user) {
		view().replaceChildren(...renderLogin());
		return;
	}
	const edit = location.hash.match(/^#\/sessions\/edit\/([0-9a-f-]{36})$/);
	const number = location.hash.match(/^#\/logs\/number\/(\d+)$/);
	const hash = edit ? '#/sessions' : number ? '#/logs' : routes[location.hash] ? location.hash : '#/logs';
	const nav = document.getElementById('nav');
	nav.hidden = false;
	for (const a of nav.querySelectorAll('a')) {
		if (hash.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page');
		else a.removeAttribute('aria-current');
	}
	const nodes = edit ? await renderSessionEdit(edit[1]) : number ? await renderReentry(Number(number[1])) : await routes[hash]();
	if (mine !== routeSeq || !nodes || handedOver) return;
	// A screen leaves out a part with null, which replaceChildren would
	// show as the text "null".
	view().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
	document.body.dataset.view = edit ? '#/sessions/edit' : number ? '#/logs/number' : hash;
	await renderStatus();
}

async function main() {
	setLang(getLang());
	renderChrome();
	document.getElementById('lang').addEventListener('click', async () => {
		setLang(getLang() === 'vi' ? 'en' : 'vi');
		renderChrome();
		await route();
	});
	if ('serviceWorker' in navigator) {
		navigator.serviceWorker.register('./sw.js', { scope: './' }).catch((e) => console.warn('service worker:', e));
	}
	const holding = watchHandOver(db, view, () => {
		handedOver = true;
		document.getElementById('nav').hidden = true;
		document.getElementById('sync-status').textContent = '';
	});
	const info = await db.init();
	holding();
	deviceId = info.deviceId;
	storage = info.storage;
	sync = new Sync(db, deviceId, getLang);
	const m = await db.meta(['user', 'access_token', 'refresh_token']);
	user = m.user && m.refresh_token ? JSON.parse(m.user) : null;
	window.addEventListener('hashchange', () => route());
	window.addEventListener('online', () => syncNow());
	window.addEventListener('offline', () => renderStatus());
	await route();
	document.body.dataset.ready = 'true';
	if (user) syncNow();
	setInterval(() => syncNow(), 5 * 60 * 1000);
}

main().catch((e) => {
	view().replaceChildren(h('p', { class: 'error', role: 'alert' }, String(e.message || e)));
});
