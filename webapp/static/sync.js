// sync.js: the app's side of docs/sync.md, over the worker's database.
// It follows phone/ (the Go reference client): push the outbox in mid
// order and record each result with the entry it closes; pull every scope
// until none has more, storing rows and cursors together; on a reset or a
// digest that disagrees, push first, then rebuild the scope from 0.
export const PROTOCOL = 1;
export const SCHEMA_VERSION = 1;
export const APP_VERSION = 'web-1.0.0';
const BATCH = 100;
const MAX_PUSH_BYTES = 480 << 10; // under the server's 512 KB

// ApiError is an error answer of the server ({error: {code, message…}}).
export class ApiError extends Error {
	constructor(status, body) {
		const e = (body && body.error) || {};
		super(e.message || `HTTP ${status}`);
		this.status = status;
		this.code = e.code || '';
		this.expected = e.expected;
		this.fields = e.fields || {};
	}
}

export class Sync {
	constructor(db, deviceId, lang) {
		this.db = db;
		this.deviceId = deviceId;
		this.lang = lang;
		this.running = null;
	}

	async request(path, body, token) {
		const headers = { 'Content-Type': 'application/json', 'Accept-Language': this.lang() };
		if (token) headers.Authorization = `Bearer ${token}`;
		const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body), cache: 'no-store' });
		const text = await res.text();
		const data = text ? JSON.parse(text) : null;
		if (!res.ok) throw new ApiError(res.status, data);
		return data;
	}

	async login(phone, password) {
		const r = await this.request('/v1/auth/login', { phone, password, device_id: this.deviceId, platform: 'web', app_version: APP_VERSION });
		await this.db.setMeta({ access_token: r.access_token, refresh_token: r.refresh_token, user: JSON.stringify(r.user) });
		return r.user;
	}

	// call posts with the access token; on 401 it refreshes once (the new
	// pair stored in one local transaction) and retries.
	async call(path, body) {
		const m = await this.db.meta(['access_token', 'refresh_token']);
		try {
			return await this.request(path, body, m.access_token);
		} catch (e) {
			if (!(e instanceof ApiError) || e.status !== 401 || !m.refresh_token) throw e;
		}
		let r;
		try {
			r = await this.request('/v1/auth/refresh', { refresh_token: m.refresh_token, device_id: this.deviceId });
		} catch (e) {
			if (e instanceof ApiError && e.status === 401) await this.db.signOut();
			throw e;
		}
		await this.db.setMeta({ access_token: r.access_token, refresh_token: r.refresh_token });
		return this.request(path, body, r.access_token);
	}

	// push sends the pending outbox in batches and records every result.
	async push() {
		let reopened = false;
		for (;;) {
			const { mutations, pending } = await this.db.pendingBatch(BATCH, MAX_PUSH_BYTES);
			if (mutations.length === 0) return;
			let resp;
			try {
				resp = await this.call('/v1/sync/push', {
					protocol: PROTOCOL, device_id: this.deviceId, schema_version: SCHEMA_VERSION, app_version: APP_VERSION,
					pending_mutations: pending, mutations,
				});
			} catch (e) {
				// The server was restored from a backup taken before our last
				// pushes: what it lost is still in the outbox from `expected`.
				if (e instanceof ApiError && e.code === 'mid_gap' && !reopened && (await this.db.reopenFrom(e.expected)) > 0) {
					reopened = true;
					continue;
				}
				throw e;
			}
			await this.db.recordResults(resp.results || []);
			if ((resp.results || []).length < mutations.length) {
				throw new Error(`server busy: retry after ${resp.retry_after || 1} s`);
			}
		}
	}

	// pull fetches every scope until none has more.
	async pull() {
		for (let round = 0; round < 1000; round++) {
			const cursors = await this.db.cursors();
			const pending = await this.db.pending();
			const resp = await this.call('/v1/sync/pull', {
				protocol: PROTOCOL, device_id: this.deviceId, schema_version: SCHEMA_VERSION, pending_mutations: pending, cursors, limit: 500,
			});
			if ((resp.resets || []).length > 0) {
				await this.push(); // nothing local may be lost
				await this.db.dropScopes(resp.resets, true);
				continue;
			}
			const { more, mismatched } = await this.db.applyPull(resp);
			if (mismatched.length > 0) {
				await this.push();
				await this.db.dropScopes(mismatched);
				continue;
			}
			// Entries at or below the server's last_mid whose answer we never
			// read are done: pushing them again returns their stored results.
			if (resp.last_mid > 0 && (await this.db.pendingUpTo(resp.last_mid)) > 0) await this.push();
			if (!more) {
				await this.db.setMeta({ last_sync: resp.server_time || new Date().toISOString() });
				return;
			}
		}
		throw new Error('pull did not settle');
	}

	// sync pushes, then pulls; concurrent calls share one run.
	sync() {
		if (!this.running) {
			this.running = (async () => {
				try {
					await this.push();
					await this.pull();
				} finally {
					this.running = null;
				}
			})();
		}
		return this.running;
	}
}
