// sw.js: the service worker that lets the app start offline. The server
// fills in VERSION (a hash of every embedded file) and FILES (all of them):
// install caches the whole app under that version, activate drops older
// copies, and fetch answers the app's own files from the cache first. The
// API (/v1/…) is never touched here: sync decides what to do offline.
const VERSION = "__VERSION__";
const FILES = ["__FILES__"];
const CACHE = `toso-app-${VERSION}`;

self.addEventListener('install', (event) => {
	event.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES.map((f) => new Request(f, { cache: 'reload' })))).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
	event.waitUntil(caches.keys()
		.then((keys) => Promise.all(keys.filter((k) => k.startsWith('toso-app-') && k !== CACHE).map((k) => caches.delete(k))))
		.then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
	const req = event.request;
	const url = new URL(req.url);
	if (req.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/app/')) return;
	event.respondWith((async () => {
		const cache = await caches.open(CACHE);
		// Every screen is index.html (the screens are #fragments).
		const key = req.mode === 'navigate' ? new URL('./', self.registration.scope).href : req;
		const hit = await cache.match(key, { ignoreSearch: true });
		return hit || fetch(req);
	})());
});
