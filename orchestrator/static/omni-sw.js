// Omni web push service worker. Serve it from your shop's origin (e.g. /omni-sw.js) and
// register it with navigator.serviceWorker.register('/omni-sw.js').
//
// Omni's push payload is JSON: {title, body, url, icon, key}. `url` is a tracked Omni link,
// so opening it records the click (a reaction that stops the escalation ladder) and then
// redirects to the page the marketer chose.
self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { title: event.data ? event.data.text() : '' };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || '', {
      body: data.body || '',
      icon: data.icon || undefined,
      tag: data.key || undefined, // the same message twice replaces, never stacks
      data: { url: data.url || '/' },
    })
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || '/';
  event.waitUntil(self.clients.openWindow(url));
});
