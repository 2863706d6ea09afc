// handover.js: one tab at a time holds the database (opfs-sahpool allows one
// connection; db-worker.js holds a Web Lock for its worker's life). A tab
// that finds it taken says so and offers to take the app over, as a person
// who left the app open in another tab (or in the installed app) expects.
// The holding tab then closes the database between transactions, ends its
// worker (the lock and the OPFS handles go with it) and says where the app
// went, with a button to take it back. Nothing is lost on the way: every
// change was committed with its outbox entry, and a sync cut short leaves
// its entries pending for the next tab, which sends the same mids again.
import { t } from './i18n.js';
import { h } from './ui.js';

const TAKE_OVER = 'take-over';
const AUTO = 'toso.take-over'; // set by "use it here": take over again after the reload

// watchHandOver wires both sides. onMoved runs once this tab has let go.
export function watchHandOver(db, view, onMoved) {
	const channel = new BroadcastChannel('toso-db');
	let holding = false;
	const ask = () => channel.postMessage(TAKE_OVER);
	addEventListener('toso-db-waiting', () => {
		if (sessionStorage.getItem(AUTO)) {
			sessionStorage.removeItem(AUTO);
			ask();
		}
		view().replaceChildren(h('div', { id: 'waiting', role: 'status' },
			h('p', {}, t('other_tab')),
			h('button', { id: 'take-over', type: 'button', class: 'primary', onclick: ask }, t('take_over'))));
	});
	channel.onmessage = async (ev) => {
		if (ev.data !== TAKE_OVER || !holding) return;
		holding = false;
		onMoved();
		await db.release();
		document.body.dataset.handedOver = 'true';
		view().replaceChildren(h('div', { id: 'moved', role: 'status' },
			h('p', {}, t('moved_tab')),
			h('button', {
				id: 'use-here', type: 'button', class: 'primary',
				onclick: () => {
					sessionStorage.setItem(AUTO, '1');
					location.reload();
				},
			}, t('use_here'))));
	};
	// The shell calls this once the database is open here.
	return () => { holding = true; };
}
