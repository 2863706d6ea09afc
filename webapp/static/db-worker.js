// db-worker.js: the app's local database, SQLite in the origin private file
// system (the opfs-sahpool VFS: no cross-origin isolation needed), in a
// Worker because OPFS sync access handles exist only there. The model is
// phone/'s: rows by scope, a cursor per scope, an outbox numbered by mid
// with each entry's stored result. Every method that changes more than one
// row runs in one transaction, so a cursor is stored with its rows and a
// result with the outbox entry it closes.
import sqlite3InitModule from './sqlite/sqlite3.mjs';

const SCHEMA = `
PRAGMA secure_delete = ON; -- a cleared citizen number is overwritten on disk, not left in a free page
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
	mid          INTEGER PRIMARY KEY,
	tx           TEXT NOT NULL DEFAULT '',
	tbl          TEXT NOT NULL,
	op           TEXT NOT NULL,
	id           TEXT NOT NULL,
	base_version INTEGER NOT NULL DEFAULT 0,
	fields       TEXT,
	created_at   TEXT NOT NULL,
	status       TEXT,             -- NULL while pending
	code         TEXT NOT NULL DEFAULT '',
	message      TEXT NOT NULL DEFAULT '',
	version      INTEGER NOT NULL DEFAULT 0,
	conflict_id  TEXT NOT NULL DEFAULT '',
	server_id    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS rows (
	scope   TEXT NOT NULL,
	tbl     TEXT NOT NULL,
	id      TEXT NOT NULL,
	version INTEGER NOT NULL,
	data    TEXT NOT NULL,
	PRIMARY KEY (scope, tbl, id)
);
CREATE TABLE IF NOT EXISTS cursors (scope TEXT PRIMARY KEY, cursor TEXT NOT NULL);
`;

// MIGRATIONS change a database made by an earlier version of the app, one
// step per PRAGMA user_version, each in one transaction; a shipped step is
// never edited.
const MIGRATIONS = [
	// 1. cleared: the raw citizen-number fields deleted from an entry once
	// its result arrived; reentry: those a resend had to go without (the
	// server was restored and asked for the entry again), for the member to
	// enter again. The numbers themselves are never kept.
	`ALTER TABLE outbox ADD COLUMN cleared TEXT NOT NULL DEFAULT '';
	 ALTER TABLE outbox ADD COLUMN reentry TEXT NOT NULL DEFAULT '';`,
];

function migrate() {
	const have = one('PRAGMA user_version').user_version;
	MIGRATIONS.forEach((sql, i) => {
		if (i < have) return;
		tx(() => {
			db.exec(sql);
			db.exec(`PRAGMA user_version = ${i + 1}`);
		});
	});
}

// Fields that carry a raw citizen number: sent once, then forgotten.
const SECRET_FIELDS = ['citizen_id_number', 'citizen_phone'];

let db;
let opening;
let storage = 'opfs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// open holds a Web Lock for the worker's life, so a second tab waits
// instead of fighting over the pool's access handles, then installs the
// VFS (retrying while a reloaded page's old worker lets go of them).
async function open() {
	const hold = () => new Promise(() => {}); // held until this worker ends
	const got = await new Promise((resolve) => {
		navigator.locks.request('toso-db', { ifAvailable: true }, (lock) => {
			resolve(!!lock);
			return lock ? hold() : null;
		});
	});
	if (!got) {
		self.postMessage({ event: 'waiting' }); // another tab has the database
		await new Promise((resolve) => {
			navigator.locks.request('toso-db', () => {
				resolve();
				return hold();
			});
		});
	}
	const sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: (...a) => console.warn(...a) });
	let pool;
	for (let i = 0; ; i++) {
		try {
			pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'toso-pool', directory: '/toso', forceReinitIfPreviouslyFailed: true });
			break;
		} catch (e) {
			if (i >= 30) {
				console.warn('OPFS unavailable, data will not survive a reload:', e);
				storage = 'memory';
				db = new sqlite3.oo1.DB(':memory:', 'c');
				db.exec(SCHEMA);
				migrate();
				return;
			}
			await sleep(100);
		}
	}
	db = new pool.OpfsSAHPoolDb('/toso.sqlite3');
	db.exec(SCHEMA);
	migrate();
}

function tx(fn) {
	db.exec('BEGIN IMMEDIATE');
	try {
		const out = fn();
		db.exec('COMMIT');
		return out;
	} catch (e) {
		db.exec('ROLLBACK');
		throw e;
	}
}

const all = (sql, bind) => db.selectObjects(sql, bind);
const one = (sql, bind) => db.selectObject(sql, bind);

function getMeta(key) {
	const r = one('SELECT value FROM meta WHERE key = ?', [key]);
	return r ? r.value : '';
}

function setMeta(key, value) {
	if (value === null || value === undefined) {
		db.exec({ sql: 'DELETE FROM meta WHERE key = ?', bind: [key] });
		return;
	}
	db.exec({ sql: 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', bind: [key, String(value)] });
}

// fnv1a64 is FNV-1a-64 of the UTF-8 bytes of s, as a BigInt.
function fnv1a64(s) {
	let h = 0xcbf29ce484222325n;
	for (const b of new TextEncoder().encode(s)) {
		h ^= BigInt(b);
		h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
	}
	return h;
}

// digestOf computes a scope's digest the way the server does: the row
// count and the sum modulo 2^64 of FNV-1a-64 of "table:id:version".
function digestOf(scope) {
	let sum = 0n;
	let count = 0;
	for (const r of all('SELECT tbl, id, version FROM rows WHERE scope = ?', [scope])) {
		sum = (sum + fnv1a64(`${r.tbl}:${r.id}:${r.version}`)) & 0xffffffffffffffffn;
		count++;
	}
	return { count, hash: sum.toString(16).padStart(16, '0') };
}

function cursorSeq(c) {
	const n = Number(String(c).split(/[.~]/)[0]); // "N", "N.tag", either with "~H" (docs/sync.md)
	return Number.isInteger(n) && n >= 0 ? n : -1;
}

function dropScopeRows(scope) {
	db.exec({ sql: 'DELETE FROM rows WHERE scope = ?', bind: [scope] });
	db.exec({ sql: 'DELETE FROM cursors WHERE scope = ?', bind: [scope] });
}

const methods = {
	// init opens the database and returns the device id, chosen once.
	async init() {
		opening ||= open();
		await opening;
		let device = getMeta('device_id');
		if (!device) {
			device = crypto.randomUUID();
			setMeta('device_id', device);
		}
		return { deviceId: device, storage };
	},
	meta(keys) {
		const out = {};
		for (const k of keys) out[k] = getMeta(k);
		return out;
	},
	setMeta(obj) {
		tx(() => {
			for (const [k, v] of Object.entries(obj)) setMeta(k, v);
		});
	},
	// write appends mutations to the outbox with the next mids, all in one
	// transaction (with a shared tx id when there are several).
	write(mutations, txID) {
		return tx(() => {
			let next = Number(getMeta('next_mid') || '1');
			const mids = [];
			const now = new Date().toISOString();
			for (const m of mutations) {
				db.exec({
					sql: `INSERT INTO outbox (mid, tx, tbl, op, id, base_version, fields, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					bind: [next, mutations.length > 1 ? txID || '' : '', m.table, m.op, m.id, m.base_version || 0,
						m.fields ? JSON.stringify(m.fields) : null, now],
				});
				mids.push(next++);
			}
			setMeta('next_mid', next);
			return mids;
		});
	},
	// pendingBatch returns up to n pending mutations in mid order, kept
	// under maxBytes of JSON, and how many wait in all.
	pendingBatch(n, maxBytes) {
		const rows = all(`SELECT mid, tx, tbl, op, id, base_version, fields FROM outbox WHERE status IS NULL ORDER BY mid LIMIT ?`, [n]);
		const out = [];
		let size = 200;
		for (const r of rows) {
			const m = { mid: r.mid, table: r.tbl, op: r.op, id: r.id, base_version: r.base_version };
			if (r.tx) m.tx = r.tx;
			if (r.fields) m.fields = JSON.parse(r.fields);
			size += (r.fields || '').length + r.id.length + r.tx.length + 120;
			if (out.length > 0 && size > maxBytes) break;
			out.push(m);
		}
		// A tx group travels whole: a batch cut by the limits ends before
		// a group it would split (unless the group alone fills it).
		const cut = out.length < rows.length || rows.length === n;
		const last = out[out.length - 1];
		if (cut && last && last.tx) {
			let k = out.length;
			while (k > 0 && out[k - 1].tx === last.tx) k--;
			if (k > 0) out.length = k;
		}
		return { mutations: out, pending: one('SELECT count(*) AS n FROM outbox WHERE status IS NULL').n };
	},
	pending() {
		return one('SELECT count(*) AS n FROM outbox WHERE status IS NULL').n;
	},
	pendingUpTo(mid) {
		return one('SELECT count(*) AS n FROM outbox WHERE status IS NULL AND mid <= ?', [mid]).n;
	},
	// recordResults closes outbox entries with their results, in one
	// transaction, and forgets the raw citizen numbers they carried: the
	// server has turned them into a citizen ref, the phone keeps none. It
	// keeps only the names of the fields it deleted (cleared), so a resend
	// after a server restore can say what went missing.
	recordResults(results) {
		tx(() => {
			for (const r of results) {
				const e = one('SELECT fields FROM outbox WHERE mid = ? AND status IS NULL', [r.mid]);
				if (!e) continue;
				let fields = e.fields;
				const cleared = [];
				if (fields) {
					const f = JSON.parse(fields);
					for (const k of SECRET_FIELDS) {
						if (k in f) cleared.push(k);
						delete f[k];
					}
					fields = JSON.stringify(f);
				}
				db.exec({
					sql: `UPDATE outbox SET status = ?, code = ?, message = ?, version = ?, conflict_id = ?, server_id = ?, fields = ?,
						cleared = CASE WHEN ? = '' THEN cleared ELSE ? END WHERE mid = ?`,
					bind: [r.status, r.code || '', r.message || '', r.version || 0, r.conflict_id || '', r.id || '', fields,
						cleared.join(','), cleared.join(','), r.mid],
				});
			}
		});
	},
	// reopenFrom makes entries from mid on pending again after a mid_gap
	// (the server was restored from a backup), if the outbox holds mid.
	// An entry whose citizen number was deleted after its first send goes
	// again without it (the phone has no copy, and the protocol ignores a
	// citizen_ref from a phone), so it is marked for the member to enter
	// the number again: reentry names the fields.
	reopenFrom(mid) {
		return tx(() => {
			if (!one('SELECT 1 AS x FROM outbox WHERE mid = ?', [mid])) return 0;
			db.exec({
				sql: `UPDATE outbox SET status = NULL, code = '', message = '', version = 0, conflict_id = '', server_id = '',
					reentry = CASE WHEN cleared != '' AND op != 'delete' THEN cleared ELSE reentry END WHERE mid >= ?`,
				bind: [mid],
			});
			return db.changes();
		});
	},
	// reenter queues the number the member typed again for the row of a
	// marked entry, as a patch in the same transaction that clears the
	// mark; an empty number clears the mark only (the member has no number
	// to give: the server keeps the record without a citizen ref).
	reenter(mid, number) {
		return tx(() => {
			const e = one('SELECT tbl, id, reentry, version FROM outbox WHERE mid = ?', [mid]);
			if (!e || !e.reentry) return 0;
			db.exec({ sql: `UPDATE outbox SET reentry = '' WHERE tbl = ? AND id = ?`, bind: [e.tbl, e.id] });
			if (!number) return 0;
			const row = one('SELECT max(version) AS v FROM rows WHERE tbl = ? AND id = ?', [e.tbl, e.id]);
			const base = Math.max(row && row.v ? row.v : 0, e.version);
			const next = Number(getMeta('next_mid') || '1');
			db.exec({
				sql: `INSERT INTO outbox (mid, tbl, op, id, base_version, fields, created_at) VALUES (?, ?, 'patch', ?, ?, ?, ?)`,
				bind: [next, e.tbl, e.id, base, JSON.stringify({ [e.reentry.split(',')[0]]: number }), new Date().toISOString()],
			});
			setMeta('next_mid', next + 1);
			return next;
		});
	},
	cursors() {
		const out = {};
		for (const r of all('SELECT scope, cursor FROM cursors')) out[r.scope] = r.cursor;
		return out;
	},
	// dropScopes empties scopes to pull them again from 0; a reset the
	// server asked for is counted (the sync screen's history, and the tests).
	dropScopes(scopes, reset) {
		tx(() => {
			scopes.forEach(dropScopeRows);
			if (reset) setMeta('resets', Number(getMeta('resets') || 0) + scopes.length);
		});
	},
	// applyPull writes one pull answer in one transaction: removed scopes,
	// changed rows, new cursors. It returns whether any scope has more, the
	// scopes whose digest disagrees, and the number of changes.
	applyPull(resp) {
		return tx(() => {
			for (const s of resp.scopes_removed || []) dropScopeRows(s);
			let more = false;
			let n = 0;
			const mismatched = [];
			for (const [scope, page] of Object.entries(resp.scopes || {})) {
				for (const ch of page.changes || []) {
					n++;
					if (ch.op === 'put') {
						db.exec({
							sql: `INSERT INTO rows (scope, tbl, id, version, data) VALUES (?, ?, ?, ?, ?)
								ON CONFLICT (scope, tbl, id) DO UPDATE SET version = excluded.version, data = excluded.data
								WHERE excluded.version >= rows.version`,
							bind: [scope, ch.table, ch.id, ch.version, JSON.stringify(ch.row)],
						});
					} else if (ch.op === 'del') {
						db.exec({ sql: 'DELETE FROM rows WHERE scope = ? AND tbl = ? AND id = ? AND version <= ?', bind: [scope, ch.table, ch.id, ch.version] });
					} else {
						throw new Error(`unknown change op ${ch.op}`);
					}
				}
				const prev = one('SELECT cursor FROM cursors WHERE scope = ?', [scope]);
				if (cursorSeq(page.cursor) < 0) throw new Error(`scope ${scope}: bad cursor ${page.cursor}`);
				if (prev && cursorSeq(page.cursor) < cursorSeq(prev.cursor)) {
					throw new Error(`scope ${scope}: cursor went backwards from ${prev.cursor} to ${page.cursor}`);
				}
				db.exec({ sql: 'INSERT INTO cursors (scope, cursor) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET cursor = excluded.cursor', bind: [scope, page.cursor] });
				more = more || !!page.has_more;
				if (!page.has_more && page.digest) {
					const local = digestOf(scope);
					if (local.count !== page.digest.count || local.hash !== page.digest.hash) mismatched.push(scope);
				}
			}
			if (mismatched.length > 0) setMeta('digest_mismatches', Number(getMeta('digest_mismatches') || 0) + mismatched.length);
			if (resp.campaign_ranks) setMeta('campaign_ranks', JSON.stringify(resp.campaign_ranks));
			return { more, mismatched, n };
		});
	},
	digest(scope) {
		return digestOf(scope);
	},
	// rows lists the local rows of a table (all scopes), newest first.
	rows(table) {
		return all('SELECT scope, id, version, data FROM rows WHERE tbl = ? ORDER BY version DESC', [table])
			.map((r) => ({ scope: r.scope, id: r.id, version: r.version, row: JSON.parse(r.data) }));
	},
	// outbox lists entries, newest first (pending and done).
	outbox() {
		return all(`SELECT mid, tx, tbl, op, id, base_version, fields, created_at, status, code, message, version, conflict_id, server_id,
			cleared, reentry FROM outbox ORDER BY mid DESC`).map((e) => ({ ...e, fields: e.fields ? JSON.parse(e.fields) : null }));
	},
	// close ends the connection before the page ends this worker, so a
	// tab handing the database over never stops inside a transaction.
	close() {
		if (db) db.close();
		db = null;
	},
	// signOut forgets the tokens; the device id, the outbox and the rows
	// stay for the next sign-in (the device is bound to this account).
	signOut() {
		tx(() => ['access_token', 'refresh_token', 'user'].forEach((k) => setMeta(k, null)));
	},
};

self.onmessage = async (ev) => {
	const { id, method, args } = ev.data;
	try {
		if (method !== 'init') await methods.init();
		const result = await methods[method](...(args || []));
		self.postMessage({ id, result });
	} catch (e) {
		self.postMessage({ id, error: String(e && e.message ? e.message : e) });
	}
};
