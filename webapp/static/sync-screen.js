// sync-screen.js: the sync screen. What waits to sync, entry by entry and
// in words (the order the outbox sends them); records the server refused;
// values that lost a same-field race, with the two ways the protocol gives
// to settle one (docs/sync.md 4.5): keep the value the server holds, or
// send the lost value again as a new patch on the row's current version,
// together with the resolution in one tx group so neither goes alone.
import { t, label } from './i18n.js';
import { h, fmtTime, badge, toast } from './ui.js';

// describe says in words what an outbox entry is, from its own fields and
// the local rows; it never shows a citizen number.
export function describe(e, ctx) {
	const f = e.fields || {};
	const fields = (names) => names.map((k) => t('field_names')[k] || k).join(', ');
	switch (e.tbl) {
	case 'assistance_logs':
		if (e.op === 'create') {
			const n = (f.outcomes || []).length;
			return `${f.citizen_name || t('citizen')} · ${(f.outcomes || []).map((o) => ctx.services.get(o.service) || o.service).join(', ') || t('services_n', n)}`;
		}
		if (e.op === 'patch' && ('citizen_id_number' in f || 'citizen_phone' in f)) return t('number_reentered');
		break;
	case 'training_sessions': {
		const row = ctx.sessions.get(e.id) || {};
		if (e.op === 'create') return f.place || '—';
		if (e.op === 'patch') return `${row.place || f.place || '—'}: ${t('changed', fields(Object.keys(f)))}`;
		break;
	}
	case 'session_attendees':
		if (e.op === 'create') return f.consent ? f.name : t('attendee_no_name');
		break;
	case 'announcement_receipts': {
		const title = (ctx.inbox.get(e.id) || {}).title || '';
		return `${title}: ${f.acked_at ? t('acked') : t('read')}`;
	}
	case 'sync_conflicts': {
		const c = ctx.conflicts.get(e.id) || {};
		return t('conflict_resolution', t('field_names')[c.field] || c.field || '');
	}
	}
	return e.op === 'delete' ? t('op_delete') : t('op_' + e.op) || e.op;
}

function pendingList(outbox, ctx) {
	const pending = outbox.filter((e) => e.status === null).sort((a, b) => a.mid - b.mid);
	if (pending.length === 0) return null;
	return h('section', { id: 'pending', 'aria-labelledby': 'pending-title' }, h('h2', { id: 'pending-title' }, t('pending_title')),
		h('ol', { class: 'list' }, pending.map((e) => {
			const state = e.reentry ? 'reentry' : 'pending';
			return h('li', { 'data-mid': String(e.mid), 'data-table': e.tbl, 'data-op': e.op, 'data-state': state },
				h('div', { class: 'row-head' }, h('strong', {}, `${t('tables')[e.tbl] || e.tbl} · ${t('op_' + e.op) || e.op}`), badge(state)),
				h('div', {}, describe(e, ctx)),
				h('div', { class: 'muted' }, t('queued_at', fmtTime(e.created_at))));
		})));
}

// conflictList shows the open conflicts this person is part of. The server
// lets the member whose value lost, or the team lead, settle one (a member
// whose value won is told, not asked); a settlement waiting in the outbox
// shows as such until the next pull brings the resolved row.
function conflictList(ctx, outbox, user) {
	const queued = new Set(outbox.filter((e) => e.tbl === 'sync_conflicts' && e.status === null).map((e) => e.id));
	const lead = user.role === 'team_lead';
	const open = [...ctx.conflicts.values()].filter((c) => !c.resolved && (lead || c.lost_by === user.id || c.won_by === user.id));
	// A merged result whose conflict row has not been pulled yet.
	const unseen = outbox.filter((e) => e.status === 'merged' && e.conflict_id && !ctx.conflicts.has(e.conflict_id));
	if (open.length === 0 && unseen.length === 0) return null;
	const show = (v) => (v === '' || v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
	return h('section', { id: 'conflicts', 'aria-labelledby': 'conflicts-title' }, h('h2', { id: 'conflicts-title' }, t('conflicts_title')),
		h('p', { class: 'muted' }, t('conflicts_help')),
		h('ul', { class: 'list' },
			open.map((c) => {
				const mine = c.lost_by === user.id;
				const can = mine || lead;
				const row = ctx.sessions.get(c.row_id) || {};
				const field = t('field_names')[c.field] || c.field;
				const waiting = queued.has(c.id);
				return h('li', { 'data-conflict': c.id, 'data-field': c.field, 'data-state': waiting ? 'pending' : 'open' },
					h('div', { class: 'row-head' }, h('strong', {}, `${t('tables')[c.table] || c.table} · ${row.place || ''}`),
						waiting ? badge('pending') : null),
					h('dl', { class: 'facts' },
						h('dt', {}, t('field')), h('dd', {}, field),
						h('dt', {}, mine ? t('lost_yours') : t('lost_theirs')), h('dd', { class: 'lost' }, show(c.lost_value)),
						h('dt', {}, t('won_now')), h('dd', { class: 'won' }, show(c.won_value))),
					waiting ? null : can ? h('div', { class: 'actions' },
						h('button', { type: 'button', class: 'keep', onclick: () => settle(ctx, c, false) }, t('keep_server')),
						c.field !== 'status' && ctx.sessions.has(c.row_id) ? h('button', { type: 'button', class: 'reapply primary', onclick: () => settle(ctx, c, true) },
							mine ? t('reapply_mine') : t('reapply_lost')) : null)
						: h('p', { class: 'muted' }, t('conflict_not_yours')));
			}),
			unseen.map((e) => h('li', { 'data-merged': String(e.mid) }, h('strong', {}, t('tables')[e.tbl] || e.tbl),
				h('div', {}, t('merged_unseen'))))));
}

// settle resolves a conflict: keep writes the resolution alone; reapply
// also patches the row's field with the lost value, on the version of the
// row this phone holds (so it does not conflict again), in one group.
async function settle(ctx, c, reapply) {
	const resolve = {
		table: 'sync_conflicts', op: 'patch', id: c.id, base_version: c.version,
		fields: { resolved: true, resolution: reapply ? t('resolution_reapplied') : t('resolution_kept') },
	};
	const muts = [resolve];
	if (reapply) {
		const version = ctx.versions.get(c.row_id) || 0;
		muts.unshift({ table: c.table, op: 'patch', id: c.row_id, base_version: version, fields: { [c.field]: c.lost_value } });
	}
	await ctx.db.write(muts, `c-${c.id}`);
	toast(t('saved'));
	await ctx.route();
	ctx.syncNow();
}

export async function renderSync(app) {
	const { db, user } = app;
	const [n, m, outbox, conflicts, services, sessions, inbox] = await Promise.all([db.pending(), db.meta(['last_sync']), db.outbox(),
		db.rows('sync_conflicts'), db.rows('services'), db.rows('training_sessions'), db.rows('announcement_receipts')]);
	const ctx = {
		...app,
		services: new Map(services.map((r) => [r.row.code, label(r.row)])),
		sessions: new Map(sessions.map((r) => [r.id, r.row])),
		versions: new Map(sessions.map((r) => [r.id, r.version])),
		inbox: new Map(inbox.map((r) => [r.id, r.row])),
		conflicts: new Map(conflicts.map((r) => [r.id, r.row])),
	};
	const rejected = outbox.filter((e) => e.status === 'rejected');
	return [
		h('h1', {}, t('sync_title')),
		h('p', {}, t('signed_in_as', user.name)),
		h('dl', { class: 'facts' },
			h('dt', {}, t('waiting_count')), h('dd', { id: 'pending-count' }, String(n)),
			h('dt', {}, t('last_sync')), h('dd', { id: 'last-sync' }, m.last_sync ? fmtTime(m.last_sync) : t('never_synced')),
			h('dt', {}, t('device')), h('dd', { id: 'device-id' }, app.deviceId),
			h('dt', {}, t('storage')), h('dd', { id: 'storage' }, app.storage === 'opfs' ? t('storage_opfs') : t('storage_memory'))),
		app.lastError ? h('p', { id: 'sync-error', class: 'error', role: 'alert' }, t('sync_failed', app.lastError)) : null,
		h('button', { id: 'sync-now', type: 'button', class: 'primary', disabled: !navigator.onLine, onclick: () => app.syncNow() }, t('sync_now')),
		pendingList(outbox, ctx),
		conflictList(ctx, outbox, user),
		rejected.length ? h('section', { id: 'rejected' }, h('h2', {}, t('rejected_title')), h('ul', { class: 'list' },
			rejected.map((e) => h('li', {}, h('strong', {}, t('tables')[e.tbl] || e.tbl), h('div', {}, e.message || e.code))))) : null,
		h('button', { id: 'sign-out', type: 'button', onclick: () => app.signOut() }, t('sign_out')),
	];
}
