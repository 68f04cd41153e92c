/**
 * The live view page (`GET /cameras/:id/view`) and its script. Both are fixed text with no camera
 * data and no secret in them: the script takes the camera id from the page's own path and the
 * token from the person, keeps the token in sessionStorage (gone with the tab), and sends it as
 * the WebSocket subprotocol `bearer.<token>` (a browser cannot set an Authorization header on a
 * WebSocket, and a query string would land in access logs and browser history).
 */

export const LIVE_VIEW_SCRIPT_PATH = '/cameras/static/live-view.js';
export const JSMPEG_SCRIPT_PATH = '/cameras/static/jsmpeg-player.umd.min.js';

/** Subprotocol the page offers beside `bearer.<token>`; the server selects it, so the token is not echoed. */
export const LIVE_SUBPROTOCOL = 'gridgate.live';

export const LIVE_VIEW_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>gridgate live view</title>
<style>
  body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #111; color: #eee; }
  header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; background: #222; }
  header h1 { font-size: 1em; margin: 0; font-weight: 600; }
  #status { color: #bbb; flex: 1; }
  main { display: flex; flex-direction: column; align-items: center; padding: 1em; }
  canvas { max-width: 100%; background: #000; }
  form { display: flex; gap: .5em; margin: 2em auto; max-width: 40em; width: 100%; }
  form input { flex: 1; padding: .4em; }
  button { padding: .4em .8em; }
</style>
</head>
<body>
<header><h1>Camera <span id="camera"></span></h1><span id="status">not connected</span>
<button id="signout" type="button" hidden>Forget token</button></header>
<main>
<form id="login" hidden>
  <input id="token" type="password" autocomplete="off" placeholder="API token (role installer or engineer)" required>
  <button type="submit">View</button>
</form>
<canvas id="video" width="640" height="360" hidden></canvas>
</main>
<script src="${JSMPEG_SCRIPT_PATH}"></script>
<script src="${LIVE_VIEW_SCRIPT_PATH}"></script>
</body>
</html>
`;

export const LIVE_VIEW_SCRIPT = `'use strict';
(function () {
  var KEY = 'gridgate.token';
  var id = decodeURIComponent(location.pathname.split('/')[2] || '');
  var api = '/api/v1/cameras/' + encodeURIComponent(id) + '/live';
  var $ = function (s) { return document.querySelector(s); };
  var player = null;
  $('#camera').textContent = id;

  function say(text) { $('#status').textContent = text; }
  function showLogin() {
    $('#login').hidden = false;
    $('#video').hidden = true;
    $('#signout').hidden = true;
    $('#token').focus();
  }
  function stop() {
    if (player) { player.destroy(); player = null; }
  }

  // The same checks as the WebSocket (token, role, camera), over plain HTTP, because a browser
  // does not tell a page why a WebSocket handshake was refused.
  function check(token) {
    return fetch(api, { headers: { authorization: 'Bearer ' + token }, cache: 'no-store' }).then(function (r) {
      if (r.status === 426) return null;
      return r.json().then(function (b) { return { status: r.status, message: b.message || ('HTTP ' + r.status) }; },
        function () { return { status: r.status, message: 'HTTP ' + r.status }; });
    });
  }

  function play(token) {
    // RFC 6455 §4.1: a subprotocol is an HTTP token (RFC 7230 §3.2.6); gridgate's tokens are.
    if (!/^[!#$%&'*+.^_\`|~0-9A-Za-z-]+$/.test(token)) {
      say('this token cannot be sent by a browser; create one with gridgate tokens new');
      showLogin();
      return;
    }
    say('checking token...');
    check(token).then(function (err) {
      if (err) {
        if (err.status === 401) sessionStorage.removeItem(KEY);
        say(err.message);
        showLogin();
        return;
      }
      sessionStorage.setItem(KEY, token);
      $('#login').hidden = true;
      $('#video').hidden = false;
      $('#signout').hidden = false;
      say('connecting...');
      stop();
      var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + api;
      player = new JSMpeg.Player(url, {
        canvas: $('#video'),
        protocols: ['${LIVE_SUBPROTOCOL}', 'bearer.' + token],
        audio: false,
        reconnectInterval: 3,
        onSourceEstablished: function () { say('live'); },
        onStalled: function () { say('waiting for the camera...'); },
      });
    }, function () {
      say('the gateway is not reachable');
      showLogin();
    });
  }

  $('#login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    play($('#token').value.trim());
    $('#token').value = '';
  });
  $('#signout').addEventListener('click', function () {
    stop();
    sessionStorage.removeItem(KEY);
    say('not connected');
    showLogin();
  });

  var saved = sessionStorage.getItem(KEY);
  if (saved) play(saved); else showLogin();
})();
`;
