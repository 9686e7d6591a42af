/* JointWatch console: who is signed in.
 *
 * Nothing of the picture is fetched, and no WebSocket opened, before /api/me answers with a
 * user. Other modules register with JW.session.onSignedIn / onSignedOut; app.js starts it.
 * Also home to the marking badge every alert and record shows. Text is set with
 * textContent only: user names and banners come from the server and are treated as hostile.
 */
"use strict";

(function () {
  const JW = (window.JW = window.JW || {});
  const $ = (id) => document.getElementById(id);

  let me = null; // the /api/me answer while signed in
  let lastUser = null; // who was signed in before the session ended
  const signedInHandlers = [];
  const signedOutHandlers = [];

  async function errorText(response) {
    let detail = null;
    try {
      const body = await response.json();
      detail = body && body.detail;
    } catch (err) {
      detail = null;
    }
    if (Array.isArray(detail)) detail = detail.map((d) => (d && d.msg) || String(d)).join("; ");
    return detail ? String(detail) : `HTTP ${response.status} ${response.statusText}`.trim();
  }

  /** fetch() for the API: JSON bodies, and a 401 ends the session in the console. */
  async function api(path, options) {
    const opts = { cache: "no-store", ...(options || {}) };
    if (opts.json !== undefined) {
      opts.method = opts.method || "POST";
      opts.headers = { "Content-Type": "application/json", ...(opts.headers || {}) };
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    const response = await fetch(path, opts);
    if (response.status === 401 && me) expired();
    return response;
  }

  function setAuth(state) {
    document.body.dataset.auth = state;
    $("login-screen").hidden = state !== "out";
  }

  function showSignIn(message) {
    setAuth("out");
    $("login-error").textContent = message || "";
    $("login-password").value = "";
    const focus = $("login-user").value ? $("login-password") : $("login-user");
    focus.focus();
  }

  function showUser(m) {
    $("user-name").textContent = m.username;
    $("user-nation").textContent = m.nation;
    $("user-role").textContent = String(m.role).replace(/_/g, " ");
    $("user-badge").title = `${m.username}, ${m.nation}, ${m.role}, cleared to ${m.clearance}`;
  }

  function signedIn(m) {
    if (lastUser !== null && lastUser !== m.username) {
      // Another user at this console: start from a clean page, nothing of the last one kept.
      location.reload();
      return;
    }
    const resumed = lastUser !== null;
    me = m;
    lastUser = m.username;
    showUser(m);
    setAuth("in");
    for (const handler of signedInHandlers) handler(m, resumed);
  }

  /** The session ended (401, or the WebSocket refused with 4401): ask to sign in again. */
  function expired() {
    if (!me) return;
    me = null;
    for (const handler of signedOutHandlers) handler();
    showSignIn("Your session has ended. Sign in again.");
  }

  async function fetchMe() {
    const response = await fetch("/api/me", { cache: "no-store" });
    if (response.status === 401) return null;
    if (!response.ok) throw new Error(await errorText(response));
    return response.json();
  }

  /** Ask the node who we are; shows the sign-in form when nobody. */
  async function check() {
    try {
      const m = await fetchMe();
      if (m) {
        if (me && me.username !== m.username) location.reload(); // signed in elsewhere as another
        else if (!me) signedIn(m);
        return true;
      }
      if (me) expired();
      else showSignIn("");
      return false;
    } catch (err) {
      if (!me) showSignIn(`Cannot reach the node (${err.message}).`);
      return Boolean(me);
    }
  }

  async function login(event) {
    event.preventDefault();
    const username = $("login-user").value.trim();
    const password = $("login-password").value;
    if (!username || !password) {
      $("login-error").textContent = "Enter your username and password.";
      return;
    }
    $("login-submit").disabled = true;
    $("login-error").textContent = "";
    try {
      const response = await fetch("/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, password }),
      });
      if (!response.ok) {
        $("login-error").textContent = await errorText(response);
        $("login-password").value = "";
        $("login-password").focus();
        return;
      }
      $("login-password").value = "";
      const m = await fetchMe();
      if (!m) throw new Error("signed in, but the node did not keep the session");
      signedIn(m);
    } catch (err) {
      $("login-error").textContent = `Sign-in failed: ${err.message}`;
    } finally {
      $("login-submit").disabled = false;
    }
  }

  async function logout() {
    try {
      await fetch("/auth/logout", { method: "POST" });
    } finally {
      location.reload(); // a fresh page holds nothing of the session
    }
  }

  // ---- markings: the banner on every alert and record ---------------------------------
  const TLP_CLASSES = {
    "TLP:CLEAR": "tlp-clear",
    "TLP:GREEN": "tlp-green",
    "TLP:AMBER": "tlp-amber",
    "TLP:AMBER+STRICT": "tlp-amber",
    "TLP:RED": "tlp-red",
  };

  /** A `.marking` span showing ``banner``, coloured by level (index on the node's scale)
   * and TLP colour. */
  function marking(banner) {
    const text = banner ? String(banner) : "UNMARKED";
    const parts = text.split("//");
    const levels = (me && me.node && me.node.levels) || [];
    const index = levels.indexOf(parts[0]);
    const el = document.createElement("span");
    el.className = "marking";
    el.classList.add(index < 0 ? "level-unknown" : `level-${Math.min(index, 5)}`);
    const tlp = parts.find((p) => p.startsWith("TLP:"));
    if (tlp && TLP_CLASSES[tlp]) el.classList.add(TLP_CLASSES[tlp]);
    el.textContent = text;
    return el;
  }

  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);

  JW.session = {
    /** Look up the session and show the app or the sign-in form. */
    start: check,
    check,
    expired,
    api,
    errorText,
    marking,
    me: () => me,
    can: (permission) => Boolean(me && me.permissions.includes(permission)),
    onSignedIn: (handler) => signedInHandlers.push(handler),
    onSignedOut: (handler) => signedOutHandlers.push(handler),
  };
})();
