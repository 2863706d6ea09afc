// ui.js: the small pieces every screen uses: building elements, dates and
// numbers in the person's language, the time inputs' RFC 3339, badges,
// selects and the toast.
import { t, getLang } from './i18n.js';

// h builds an element: h('p', {class: 'x'}, 'text', child…). Text is
// always set as text, never parsed as HTML (announcements come from
// coordinators).
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === false || v === null || v === undefined) continue;
		if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
		else if (k === 'value') el.value = v;
		else if (k === 'checked') el.checked = !!v;
		else el.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children.flat()) {
		if (c === null || c === undefined || c === false) continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

export function fmtTime(s) {
	if (!s) return '';
	const d = new Date(s);
	if (Number.isNaN(d.getTime())) return s;
	return new Intl.DateTimeFormat(getLang() === 'en' ? 'en-GB' : 'vi-VN', { dateStyle: 'short', timeStyle: 'short' }).format(d);
}

export function fmtNumber(v) {
	return new Intl.NumberFormat(getLang() === 'en' ? 'en-GB' : 'vi-VN', { maximumFractionDigits: 1 }).format(v);
}

// localInput is a Date as a datetime-local input value.
export function localInput(d) {
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// rfc3339 turns a datetime-local value into RFC 3339 with the phone's
// offset ("2026-11-20T09:12:00+07:00"), as the phone app sends it.
export function rfc3339(value) {
	const d = value ? new Date(value) : new Date();
	const off = -d.getTimezoneOffset();
	const p = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
	const sign = off >= 0 ? '+' : '-';
	return `${localInput(d)}:${p(d.getSeconds())}${sign}${p(off / 60)}:${p(off % 60)}`;
}

export function badge(state, message) {
	return h('span', { class: `badge ${state}`, title: message || null }, t(state) + (message ? `: ${message}` : ''));
}

export function select(id, name, options, value) {
	return h('select', { id, name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

export function toast(text) {
	const el = document.getElementById('toast');
	el.textContent = text;
	el.hidden = false;
	clearTimeout(toast.timer);
	toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}
