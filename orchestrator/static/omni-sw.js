// Omni web push service worker. Serve it from your shop's origin (e.g. /omni-sw.js) and
// register it with navigator.serviceWorker.register('/omni-sw.js').
//
// Omni's push payload is JSON: {title, body, url, icon, key, actions?}. `url` is a tracked
// Omni link, so opening it records the click (a reaction that stops the escalation ladder)
// and then redirects to the page the marketer chose. Marketing notifications carry
// `actions: [{action: "preferences", title, url}]`: a button that opens the customer's
// preference center (a short link; not a click on the message).
self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { title: event.data ? event.data.text() : '' };
  }
  const actions = Array.isArray(data.actions) ? data.actions : [];
  const links = {};
  for (const a of actions) {
    links[a.action] = a.url;
  }
  event.waitUntil(
    self.registration.showNotification(data.title || '', {
      body: data.body || '',
      icon: data.icon || undefined,
      tag: data.key || undefined, // the same message twice replaces, never stacks
      actions: actions.map((a) => ({ action: a.action, title: a.title })),
      data: { url: data.url || '/', links: links },
    })
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  // An action button opens its own link; the notification itself opens the message's.
  const url = (event.action && data.links && data.links[event.action]) || data.url || '/';
  event.waitUntil(self.clients.openWindow(url));
});
