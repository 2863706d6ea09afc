// db.js: the page's handle on the database worker. Each call is a message
// with an id; the worker answers with the result or an error.
export function openDB() {
	const worker = new Worker(new URL('./db-worker.js', import.meta.url), { type: 'module' });
	const waiting = new Map();
	let next = 1;
	worker.onmessage = (ev) => {
		if (ev.data.event) {
			dispatchEvent(new CustomEvent(`toso-db-${ev.data.event}`));
			return;
		}
		const { id, result, error } = ev.data;
		const w = waiting.get(id);
		if (!w) return;
		waiting.delete(id);
		if (error !== undefined) w.reject(new Error(error));
		else w.resolve(result);
	};
	worker.onerror = (ev) => {
		for (const w of waiting.values()) w.reject(new Error(ev.message || 'database worker failed'));
		waiting.clear();
	};
	// Leaving the page (even into the back-forward cache) ends the worker,
	// which lets go of the database for another tab; a page restored from
	// that cache reloads to get a new one.
	addEventListener('pagehide', () => worker.terminate());
	addEventListener('pageshow', (ev) => {
		if (ev.persisted) location.reload();
	});
	let released = false;
	const call = (method, ...args) => new Promise((resolve, reject) => {
		if (released) {
			reject(new Error('the database is open in another tab'));
			return;
		}
		const id = next++;
		waiting.set(id, { resolve, reject });
		worker.postMessage({ id, method, args });
	});
	// release hands the database to another tab: the worker closes it after
	// the calls already queued (each transaction runs whole), then ends,
	// which lets go of the Web Lock and the OPFS handles. A sync cut short
	// here loses nothing: its entries stay pending and the next tab sends
	// the same mids again, which the server answers from its stored results.
	const release = async () => {
		if (released) return;
		await call('close').catch(() => {});
		released = true;
		worker.terminate();
		for (const w of waiting.values()) w.reject(new Error('the database is open in another tab'));
		waiting.clear();
	};
	// 'then' stays undefined so the proxy is not mistaken for a promise.
	return new Proxy({}, {
		get: (_, method) => {
			if (method === 'then') return undefined;
			if (method === 'release') return release;
			return (...args) => call(method, ...args);
		},
	});
}
