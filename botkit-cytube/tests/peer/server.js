// A Socket.IO 4.5 server that behaves like CyTube 3.86 as shared/protocols/cytube.md
// describes it, for botkit-cytube's session and fault tests.
//
// It speaks the real wire protocol (the npm `socket.io` package CyTube itself runs), so the
// Rust client is tested against a genuine Engine.IO v4 / Socket.IO v5 peer: handshake,
// server-side pings, `41` after a kick, 1009 on oversized frames. The CyTube behaviour on
// top (login, join burst, chat flood limiter, playlist, kick, duplicate login, channel
// passwords) follows the protocol reference, not CyTube's code.
//
// Usage: node server.js            -> prints "PORT <n>" once listening on 127.0.0.1
// Env:   PEER_PING_INTERVAL, PEER_PING_TIMEOUT (ms; CyTube uses 25000 / 120000),
//        PEER_GUEST_DELAY_MS (guest logins per IP; default 0 = off),
//        PEER_CONNECT_BURST (the per-IP connect bucket: that many at once, then one per
//        10 s; beyond it `44 Rate limit exceeded`, logged as `connectRefused`),
//        PEER_TLS=1: serve HTTPS/WSS with server-cert.pem (signed by ca.pem, valid for
//        127.0.0.1 until 2125; generated once for these tests, the key is no secret), and
//        advertise in /socketconfig an insecure entry first and the secure one second, as
//        a real deployment with both ports does.
// Test control (HTTP GET on the same port):
//   /control/log               JSON list of every event clients sent, and cooldowns emitted
//   /control/kill              destroy every TCP connection (like a crashed server: 1006)
//   /control/close             close every websocket cleanly
//   /control/freeze            stop sending pings (the link looks dead to the client)
//   /control/send?frame=TEXT   write TEXT as a raw websocket frame to every client
//   /control/send?big=N        write a chat frame of about N bytes to every client
//   /control/kick?user=N&reason=R
//   /control/chat?chan=C&user=N&msg=M   a chat message from a (fake) user N
//   /control/join?chan=C&user=N&rank=R  a fake user joins (addUser to everyone)
//   /control/opts?chan=C&set=JSON       merge JSON into the channel options (channelOpts to all)
//   /control/queue?chan=C&n=N           a fake user queues N items at once (a playlist burst)
"use strict";

const fs = require("fs");
const http = require("http");
const https = require("https");
const path = require("path");
const { Server } = require("socket.io");

const env = (k, d) => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const PING_INTERVAL = env("PEER_PING_INTERVAL", 25000);
const PING_TIMEOUT = env("PEER_PING_TIMEOUT", 120000);
const GUEST_DELAY = env("PEER_GUEST_DELAY_MS", 0);
const CONNECT_BURST = env("PEER_CONNECT_BURST", 1e9);
const TLS = process.env.PEER_TLS === "1";

const NAME_RE = /^[\w-]{1,20}$/;
const CHAN_RE = /^[\w-]{1,30}$/;
const ACCOUNTS = { ownerbot: { pw: "hunter22", rank: 1 }, modbot: { pw: "modpw", rank: 1 } };
const COOKIES = { "s%3Aownerbot%3Atestcookie": "ownerbot" };
const CHANNEL_RANKS = { labchan: { ownerbot: 5, modbot: 2 }, secret: { ownerbot: 5 } };
const PASSWORDS = { secret: "sekrit" };

const REGISTERED_PERMS = {
  seeplaylist: -1, playlistadd: 1.5, playlistnext: 1.5, playlistmove: 1.5, playlistdelete: 2,
  playlistjump: 1.5, playlistaddlive: 1.5, playlistaddcustom: 3, settemp: 2, voteskip: -1,
  mute: 1.5, kick: 1.5, ban: 2, chat: 0, chatclear: 2, pollctl: 1.5, pollvote: -1,
  leaderctl: 2, motdedit: 3,
};
const OPEN_PERMS = Object.fromEntries(Object.keys(REGISTERED_PERMS).map((k) => [k, k === "chatclear" ? 2 : -1]));

const log = [];
const channels = new Map();
const lastGuest = new Map();
const connects = new Map();

function defaultOpts(name) {
  return {
    allow_voteskip: true, voteskip_ratio: 0.5, afk_timeout: 600, pagetitle: name, maxlength: 0,
    externalcss: "", externaljs: "", chat_antiflood: false,
    chat_antiflood_params: { burst: 4, sustained: 1, cooldown: 4 }, show_public: false,
    enable_link_regex: true, password: PASSWORDS[name] || false, allow_dupes: false,
    torbanned: false, block_anonymous_users: false, allow_ascii_control: false,
    playlist_max_per_user: 0, new_user_chat_delay: 0, new_user_chat_link_delay: 0,
    playlist_max_duration_per_user: 0,
  };
}

function channel(name) {
  if (!channels.has(name)) {
    const registered = name in CHANNEL_RANKS;
    channels.set(name, {
      name, registered, sockets: new Set(), fakes: new Map(), buffer: [], playlist: [],
      uid: 0, current: null, opts: defaultOpts(name),
      perms: registered ? REGISTERED_PERMS : OPEN_PERMS, motd: registered ? "<b>welcome</b>" : "",
    });
  }
  return channels.get(name);
}

function escapeHtml(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function linkify(s) {
  return s.replace(/(https?:\/\/[^\s<]+)/g, '<a href="$1" target="_blank" rel="noopener noreferrer">$1</a>');
}

// CyTube's newRateLimiter (src/utilities.js): quiet for `cooldown` s resets the count;
// `burst` pass; then one per 1000/sustained ms; dropped messages do not move the clock.
function limiter() {
  return {
    count: 0, last: 0,
    throttle(o) {
      const now = Date.now();
      const cooldown = o.cooldown !== undefined ? o.cooldown : o.burst / o.sustained;
      if (this.last < now - cooldown * 1000) { this.count = 1; this.last = now; return false; }
      if (this.count < o.burst) { this.count++; this.last = now; return false; }
      if (now - this.last < 1000 / o.sustained) return true;
      this.last = now;
      return false;
    },
  };
}
const MIN_ANTIFLOOD = { burst: 20, sustained: 10 };

function userInfo(s) {
  return { name: s.data.name, rank: s.data.rank, profile: { image: "", text: "" },
    meta: { afk: s.data.afk, muted: false } };
}

function members(ch) {
  const list = [...ch.sockets].filter((s) => s.data.name).map(userInfo);
  for (const f of ch.fakes.values()) list.push(f);
  return list;
}

function emitChannel(ch, ev, arg) {
  for (const s of ch.sockets) arg === undefined ? s.emit(ev) : s.emit(ev, arg);
}

function mediaFor(q) {
  const live = ["rt", "hl", "tw", "li", "cu"].includes(q.type);
  const seconds = live ? (typeof q.duration === "number" ? q.duration : 0) : 60;
  const pad = (n) => String(n).padStart(2, "0");
  return {
    id: q.type === "cu" ? "cu:" + Buffer.from(q.id).toString("base64").slice(0, 16) : q.id,
    title: q.title && ["cu", "fi"].includes(q.type) ? q.title : live ? "Livestream" : "Media " + q.id,
    seconds, duration: seconds ? `${pad(Math.floor(seconds / 60))}:${pad(seconds % 60)}` : "--:--",
    type: q.type, meta: {},
  };
}

function playlistMeta(ch) {
  const raw = ch.playlist.reduce((a, i) => a + i.media.seconds, 0);
  return { count: ch.playlist.length, rawTime: raw, time: "00:00" };
}

function play(ch, item) {
  ch.current = item;
  emitChannel(ch, "setCurrent", item.uid);
  emitChannel(ch, "changeMedia", { ...item.media, currentTime: item.media.seconds ? -3 : 0, paused: !!item.media.seconds });
}

function kick(s, reason) {
  s.emit("kick", { reason });
  s.data.kicked = true;
  // socket.disconnect() sends `41` and, like CyTube, leaves the websocket open.
  s.disconnect();
}

function effRank(s) { return s.data.rank; }

function leave(s) {
  const ch = s.data.channel;
  if (!ch) return;
  ch.sockets.delete(s);
  if (s.data.name) emitChannel(ch, "userLeave", { name: s.data.name });
  s.data.channel = null;
}

function acceptUser(s) {
  // Called when a logged-in user is in a channel: kick the older holder of the name.
  const ch = s.data.channel;
  for (const other of ch.sockets) {
    if (other !== s && other.data.name && other.data.name.toLowerCase() === s.data.name.toLowerCase()) {
      kick(other, "Duplicate login");
      ch.sockets.delete(other);
      emitChannel(ch, "userLeave", { name: other.data.name });
    }
  }
}

function joinBurst(s, ch) {
  s.data.channel = ch;
  ch.sockets.add(s);
  if (s.data.name) acceptUser(s);
  const chanRank = s.data.account ? (CHANNEL_RANKS[ch.name] || {})[s.data.name] : undefined;
  if (chanRank !== undefined && chanRank > s.data.rank) { s.data.rank = chanRank; s.emit("rank", chanRank); }
  s.emit("setPermissions", ch.perms);
  s.emit("setPlaylistLocked", ch.registered);
  s.emit("emoteList", [{ name: "Kappa", image: "https://example.invalid/k.png", source: "\\bKappa\\b" }]);
  for (const m of ch.buffer) s.emit("chatMsg", m);
  s.emit("drinkCount", 0);
  s.emit("channelCSSJS", { css: "", cssHash: "", js: "", jsHash: "" });
  s.emit("setMotd", ch.motd);
  s.emit("channelOpts", ch.opts);
  s.emit("setPlaylistMeta", playlistMeta(ch));
  s.emit("playlist", ch.playlist);
  if (ch.current) {
    s.emit("setCurrent", ch.current.uid);
    s.emit("changeMedia", { ...ch.current.media, currentTime: 0, paused: false });
  }
  if (ch.poll) { const { voters, ...shown } = ch.poll; s.emit("newPoll", shown); }
  s.emit("userlist", members(ch));
  if (ch.leader) s.emit("setLeader", ch.leader);
  s.emit("usercount", ch.sockets.size);
  if (!ch.registered) s.emit("channelNotRegistered");
  if (s.data.name) {
    for (const o of ch.sockets) if (o !== s) o.emit("addUser", userInfo(s));
  }
}

function findUser(ch, name) {
  return [...ch.sockets].find((o) => o.data.name && o.data.name.toLowerCase() === String(name).toLowerCase());
}

function chatCommand(s, ch, msg) {
  const [cmd, target, ...rest] = msg.split(" ");
  if (cmd === "/kick") {
    if (effRank(s) < ch.perms.kick) return true;
    const t = findUser(ch, target);
    if (t) { kick(t, rest.join(" ")); leave(t); }
    return true;
  }
  if (cmd === "/afk") {
    s.data.afk = !s.data.afk;
    emitChannel(ch, "setUserMeta", { name: s.data.name, meta: { afk: s.data.afk, muted: false } });
    emitChannel(ch, "setAFK", { name: s.data.name, afk: s.data.afk });
    return true;
  }
  return false;
}

function onChat(s, data) {
  const ch = s.data.channel;
  log.push({ user: s.data.name, event: "chatMsg", args: data });
  if (!ch || !s.data.name || typeof data !== "object" || data === null) return;
  if (typeof data.msg !== "string") {
    s.emit("errorMsg", { msg: "Unexpected error for message chatMsg: Expected key msg to be of type string, instead got " + typeof data.msg });
    return;
  }
  if (s.data.limiter.throttle(MIN_ANTIFLOOD)) { log.push({ user: s.data.name, event: "cooldown" }); s.emit("cooldown", 100); return; }
  if (ch.opts.chat_antiflood && effRank(s) < 2 && s.data.limiter2.throttle(ch.opts.chat_antiflood_params)) {
    log.push({ user: s.data.name, event: "cooldown" });
    s.emit("cooldown", 1000 / ch.opts.chat_antiflood_params.sustained);
    return;
  }
  let msg = data.msg.replace(/[\x00-\x1f]+/g, " ").substring(0, 320);
  if (!msg.trim()) return;
  if (msg.startsWith("/") && chatCommand(s, ch, msg)) return;
  if (s.data.afk) {
    s.data.afk = false;
    emitChannel(ch, "setUserMeta", { name: s.data.name, meta: { afk: false, muted: false } });
    emitChannel(ch, "setAFK", { name: s.data.name, afk: false });
  }
  const meta = {};
  if (msg.startsWith("/me ")) { msg = msg.substring(4); meta.addClass = "action"; meta.action = true; }
  const out = { username: s.data.name, msg: linkify(escapeHtml(msg)), meta, time: Date.now() };
  ch.buffer.push(out);
  if (ch.buffer.length > 15) ch.buffer.shift();
  emitChannel(ch, "chatMsg", out);
}

function onLogin(s, data) {
  log.push({ user: s.data.name, event: "login", args: { name: data && data.name, pw: data && data.pw ? "***" : undefined } });
  if (s.data.name || s.data.loggingIn) return;
  if (typeof data !== "object" || data === null) { s.emit("errorMsg", { msg: "Invalid login frame" }); return; }
  const name = String(data.name || "");
  const fail = (error) => s.emit("login", { success: false, error });
  const done = (canonical, rank, guest) => {
    s.data.name = canonical; s.data.rank = rank; s.data.account = !guest;
    s.emit("rank", rank);
    s.emit("login", guest ? { success: true, name: canonical, guest: true } : { success: true, name: canonical });
    const ch = s.data.channel;
    if (ch) {
      acceptUser(s);
      const chanRank = !guest ? (CHANNEL_RANKS[ch.name] || {})[canonical] : undefined;
      if (chanRank !== undefined) { s.data.rank = chanRank; }
      emitChannel(ch, "addUser", userInfo(s));
      if (chanRank !== undefined) s.emit("rank", chanRank);
    }
  };
  if (data.pw) {
    const acct = ACCOUNTS[name.toLowerCase()];
    if (!NAME_RE.test(name)) return fail(`Invalid username "${name}"`);
    if (!acct) return fail("User does not exist");
    if (acct.pw !== data.pw) return fail("Invalid username/password combination");
    s.data.loggingIn = true;
    setTimeout(() => { s.data.loggingIn = false; done(name.toLowerCase(), acct.rank, false); }, 20);
    return;
  }
  if (!NAME_RE.test(name)) return fail("Invalid username.  Usernames must be 1-20 characters long and consist only of characters a-z, A-Z, 0-9, -, or _.");
  if (/(^|[-_])(admin|administrator|owner)([-_]|$)/i.test(name)) return fail("That username is reserved.");
  if (ACCOUNTS[name.toLowerCase()]) return fail("That username is registered.");
  if (s.data.channel && findUser(s.data.channel, name)) return fail("That name is already in use on this channel.");
  const ip = s.handshake.address;
  if (GUEST_DELAY && lastGuest.has(ip) && Date.now() - lastGuest.get(ip) < GUEST_DELAY) {
    return fail("Guest logins are restricted to one per IP address per 60 seconds.");
  }
  lastGuest.set(ip, Date.now());
  done(name, 0, true);
}

function onJoin(s, data) {
  log.push({ user: s.data.name, event: "joinChannel", args: { name: data && data.name, pw: data && data.pw ? "***" : undefined } });
  if (s.data.joinRequested) return;
  s.data.joinRequested = true;
  const name = data && typeof data.name === "string" ? data.name : "";
  if (!CHAN_RE.test(name)) {
    s.emit("errorMsg", { msg: "Invalid channel name.  Channel names may consist of 1-30 characters in the set a-z, A-Z, 0-9, -, and _" });
    kick(s, "Invalid channel name");
    return;
  }
  const ch = channel(name.toLowerCase());
  const pw = PASSWORDS[ch.name];
  if (pw && data.pw !== pw && effRank(s) < 2) {
    s.data.pendingChannel = ch;
    s.emit("needPassword", data.pw !== undefined);
    return;
  }
  joinBurst(s, ch);
}

function wire(s) {
  s.data.rank = -1; s.data.afk = false; s.data.limiter = limiter(); s.data.limiter2 = limiter();
  const cookie = s.handshake.headers.cookie || "";
  const m = /(?:^|;\s*)auth=([^;]+)/.exec(cookie);
  if (m && COOKIES[m[1]]) {
    const name = COOKIES[m[1]];
    s.data.name = name; s.data.rank = ACCOUNTS[name].rank; s.data.account = true;
    s.emit("login", { success: true, name, guest: false });
    s.emit("rank", s.data.rank);
  } else {
    s.emit("rank", -1);
  }
  s.on("login", (d) => onLogin(s, d));
  s.on("joinChannel", (d) => onJoin(s, d));
  s.on("channelPassword", (pw) => {
    log.push({ user: s.data.name, event: "channelPassword", args: "***" });
    const ch = s.data.pendingChannel;
    if (!ch) return;
    if (pw === PASSWORDS[ch.name]) { s.data.pendingChannel = null; s.emit("cancelNeedPassword"); joinBurst(s, ch); }
    else s.emit("needPassword", true);
  });
  s.on("chatMsg", (d) => onChat(s, d));
  s.on("pm", (d) => {
    log.push({ user: s.data.name, event: "pm", args: d });
    const ch = s.data.channel;
    if (!ch || !d || typeof d.msg !== "string") return;
    if (!s.data.name) { s.emit("errorMsg", { msg: "You must be signed in to send PMs" }); return; }
    if (s.data.limiter.throttle(MIN_ANTIFLOOD)) { log.push({ user: s.data.name, event: "cooldown" }); s.emit("cooldown", 100); return; }
    const t = findUser(ch, d.to);
    if (!t) { s.emit("errorMsg", { msg: `PM failed: ${d.to} isn't connected to this channel.` }); return; }
    const out = { username: s.data.name, msg: escapeHtml(d.msg.substring(0, 320)), meta: {}, time: Date.now(), to: t.data.name };
    t.emit("pm", out);
    s.emit("pm", out);
  });
  s.on("queue", (q) => {
    log.push({ user: s.data.name, event: "queue", args: q });
    const ch = s.data.channel;
    if (!ch || !q || typeof q.id !== "string") return;
    const fail = (msg) => s.emit("queueFail", { msg, link: q.id, id: q.id });
    if (effRank(s) < ch.perms.playlistadd) return fail("You don't have permission to add videos");
    if (!["yt", "vi", "dm", "sc", "tw", "fi", "cu", "rt", "hl", "li", "gd", "tc", "sb", "cm"].includes(q.type)) {
      return fail(`Unknown media type &#39;${q.type}&#39;`);
    }
    if (ch.playlist.some((i) => i.media.id === q.id)) return fail("This item is already on the playlist");
    const item = { media: mediaFor(q), uid: ch.uid++, temp: !!q.temp, queueby: s.data.name || "" };
    let after = "prepend";
    if (ch.playlist.length === 0) ch.playlist.push(item);
    else if (q.pos === "next" && ch.current) {
      const i = ch.playlist.indexOf(ch.current);
      after = ch.current.uid;
      ch.playlist.splice(i + 1, 0, item);
    } else { after = ch.playlist[ch.playlist.length - 1].uid; ch.playlist.push(item); }
    emitChannel(ch, "queue", { item, after });
    emitChannel(ch, "setPlaylistMeta", playlistMeta(ch));
    if (!ch.current) play(ch, item);
  });
  s.on("delete", (uid) => {
    log.push({ user: s.data.name, event: "delete", args: uid });
    const ch = s.data.channel;
    if (!ch || effRank(s) < ch.perms.playlistdelete) return;
    const i = ch.playlist.findIndex((x) => x.uid === uid);
    if (i < 0) return;
    const [item] = ch.playlist.splice(i, 1);
    emitChannel(ch, "delete", { uid });
    emitChannel(ch, "setPlaylistMeta", playlistMeta(ch));
    if (ch.current === item) { ch.current = null; if (ch.playlist.length) play(ch, ch.playlist[Math.min(i, ch.playlist.length - 1)]); }
  });
  s.on("moveMedia", (d) => {
    log.push({ user: s.data.name, event: "moveMedia", args: d });
    const ch = s.data.channel;
    if (!ch || !d || effRank(s) < ch.perms.playlistmove) return;
    const i = ch.playlist.findIndex((x) => x.uid === d.from);
    if (i < 0) return;
    const [item] = ch.playlist.splice(i, 1);
    if (d.after === "prepend") ch.playlist.unshift(item);
    else if (d.after === "append") ch.playlist.push(item);
    else ch.playlist.splice(ch.playlist.findIndex((x) => x.uid === d.after) + 1, 0, item);
    emitChannel(ch, "moveVideo", { from: d.from, after: d.after });
  });
  s.on("jumpTo", (uid) => {
    log.push({ user: s.data.name, event: "jumpTo", args: uid });
    const ch = s.data.channel;
    if (!ch || effRank(s) < ch.perms.playlistjump) return;
    const item = ch.playlist.find((x) => x.uid === Number(uid));
    if (item) play(ch, item);
  });
  s.on("voteskip", () => {
    log.push({ user: s.data.name, event: "voteskip" });
    const ch = s.data.channel;
    if (ch) emitChannel(ch, "voteskip", { count: 1, need: 1 });
  });
  s.on("setOptions", (d) => {
    log.push({ user: s.data.name, event: "setOptions", args: d });
    const ch = s.data.channel;
    if (!ch) return;
    if (effRank(s) < 2) { kick(s, "Attempted setOptions as a non-moderator"); leave(s); return; }
    Object.assign(ch.opts, d);
    emitChannel(ch, "channelOpts", ch.opts);
  });
  s.on("requestPlaylist", () => {
    log.push({ user: s.data.name, event: "requestPlaylist" });
    const ch = s.data.channel;
    if (!ch) return;
    const now = Date.now();
    if (s.data.lastPlaylistRequest && now - s.data.lastPlaylistRequest < 60000) {
      s.emit("errorMsg", { msg: "Get Playlist URLs is limited to 1 usage every 60 seconds.  Please try again later.", code: "REQ_PLAYLIST_LIMIT_REACHED" });
      return;
    }
    s.data.lastPlaylistRequest = now;
    s.emit("setPlaylistMeta", playlistMeta(ch));
    s.emit("playlist", ch.playlist);
    if (ch.current) s.emit("setCurrent", ch.current.uid);
  });
  s.on("newPoll", (d) => {
    log.push({ user: s.data.name, event: "newPoll", args: d });
    const ch = s.data.channel;
    if (!ch || !d || effRank(s) < ch.perms.pollctl) return;
    if (!Array.isArray(d.opts) || d.opts.length > 50) { s.emit("errorMsg", { msg: "Poll options must be a list of at most 50" }); return; }
    ch.poll = { title: escapeHtml(String(d.title)), options: d.opts.map((o) => escapeHtml(String(o))), counts: d.opts.map(() => 0), initiator: s.data.name, timestamp: Date.now(), voters: new Set() };
    const { voters, ...shown } = ch.poll;
    emitChannel(ch, "newPoll", shown);
  });
  s.on("vote", (d) => {
    log.push({ user: s.data.name, event: "vote", args: d });
    const ch = s.data.channel;
    if (!ch || !ch.poll || !d || typeof d.option !== "number") return;
    if (effRank(s) < ch.perms.pollvote || ch.poll.voters.has(s.id)) return;
    if (d.option < 0 || d.option >= ch.poll.counts.length) return;
    ch.poll.voters.add(s.id);
    ch.poll.counts[d.option]++;
    const { voters, ...shown } = ch.poll;
    emitChannel(ch, "updatePoll", shown);
  });
  s.on("closePoll", () => {
    log.push({ user: s.data.name, event: "closePoll" });
    const ch = s.data.channel;
    if (!ch || !ch.poll || effRank(s) < ch.perms.pollctl) return;
    ch.poll = null;
    emitChannel(ch, "closePoll", null);
  });
  s.on("assignLeader", (d) => {
    log.push({ user: s.data.name, event: "assignLeader", args: d });
    const ch = s.data.channel;
    if (!ch) return;
    if (effRank(s) < ch.perms.leaderctl) { kick(s, "Attempted assignLeader without sufficient permission"); leave(s); return; }
    const name = d && typeof d.name === "string" ? d.name : "";
    if (name && !findUser(ch, name) && !ch.fakes.has(name)) { s.emit("errorMsg", { msg: `Unable to assign leader: could not find user ${name}` }); return; }
    ch.leader = name;
    emitChannel(ch, "setLeader", name);
    const t = name && findUser(ch, name);
    if (t && t.data.rank < 1.5) { t.data.rank = 1.5; t.emit("rank", 1.5); emitChannel(ch, "setUserRank", { name: t.data.name, rank: 1.5 }); }
  });
  s.onAny((ev) => {
    const known = ["login", "joinChannel", "channelPassword", "chatMsg", "pm", "queue", "delete", "moveMedia", "jumpTo", "voteskip", "setOptions", "requestPlaylist", "newPoll", "vote", "closePoll", "assignLeader"];
    if (!known.includes(ev)) log.push({ user: s.data.name, event: ev });
  });
  s.on("disconnect", () => { if (!s.data.kicked) leave(s); });
}

const handler = (req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const reply = (status, body) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const cfg = /^\/socketconfig\/(.*)\.json$/.exec(url.pathname);
  if (cfg) {
    if (!CHAN_RE.test(cfg[1])) return reply(404, { error: `Channel "${cfg[1]}" does not exist.` });
    const port = httpServer.address().port;
    const servers = [{ url: `http://127.0.0.1:${port}`, secure: false }];
    // The plain entry points at the TLS port: a client that picks it cannot connect.
    if (TLS) servers.push({ url: `https://127.0.0.1:${port}`, secure: true });
    return reply(200, { servers });
  }
  const q = (k) => url.searchParams.get(k);
  const all = () => [...io.of("/").sockets.values()];
  switch (url.pathname) {
    case "/control/log": return reply(200, log);
    case "/control/kill":
      for (const s of all()) s.conn.transport.socket._socket.destroy();
      return reply(200, { ok: true });
    case "/control/close":
      for (const s of all()) s.conn.close();
      return reply(200, { ok: true });
    case "/control/freeze":
      for (const s of all()) {
        clearTimeout(s.conn.pingTimeoutTimer);
        clearTimeout(s.conn.pingIntervalTimer);
        s.conn.schedulePing = () => {};
        s.conn.resetPingTimeout = () => {};
      }
      return reply(200, { ok: true });
    case "/control/send": {
      // `big=N`: a chat frame of about N bytes (oversized-frame tests).
      const frame = q("big") ? '42["chatMsg",{"username":"x","msg":"' + "x".repeat(Number(q("big"))) + '","meta":{},"time":0}]' : q("frame");
      for (const s of all()) s.conn.transport.socket.send(frame);
      return reply(200, { ok: true });
    }
    case "/control/kick":
      for (const s of all()) if (s.data.name === q("user")) { kick(s, q("reason") || ""); leave(s); }
      return reply(200, { ok: true });
    case "/control/chat": {
      const ch = channel(q("chan"));
      const out = { username: q("user"), msg: linkify(escapeHtml(q("msg"))), meta: {}, time: Date.now() };
      ch.buffer.push(out);
      if (ch.buffer.length > 15) ch.buffer.shift();
      emitChannel(ch, "chatMsg", out);
      return reply(200, { ok: true });
    }
    case "/control/join": {
      const ch = channel(q("chan"));
      const u = { name: q("user"), rank: Number(q("rank") || 0), profile: { image: "", text: "" }, meta: { afk: false, muted: false } };
      ch.fakes.set(u.name, u);
      emitChannel(ch, "addUser", u);
      return reply(200, { ok: true });
    }
    case "/control/queue": {
      const ch = channel(q("chan"));
      for (let i = 0; i < Number(q("n") || 1); i++) {
        const item = { media: mediaFor({ id: "bulk" + ch.uid, type: "yt" }), uid: ch.uid++, temp: false, queueby: "bulker" };
        const after = ch.playlist.length ? ch.playlist[ch.playlist.length - 1].uid : "prepend";
        ch.playlist.push(item);
        emitChannel(ch, "queue", { item, after });
        emitChannel(ch, "setPlaylistMeta", playlistMeta(ch));
        if (!ch.current) play(ch, item);
      }
      return reply(200, { ok: true });
    }
    case "/control/opts": {
      const ch = channel(q("chan"));
      Object.assign(ch.opts, JSON.parse(q("set") || "{}"));
      emitChannel(ch, "channelOpts", ch.opts);
      return reply(200, { ok: true });
    }
    default: return reply(404, { error: "not found" });
  }
};

const httpServer = TLS
  ? https.createServer({
      key: fs.readFileSync(path.join(__dirname, "server-key.pem")),
      cert: fs.readFileSync(path.join(__dirname, "server-cert.pem")),
    }, handler)
  : http.createServer(handler);

const io = new Server(httpServer, {
  pingInterval: PING_INTERVAL,
  pingTimeout: PING_TIMEOUT,
  maxHttpBufferSize: 1 << 20,
  perMessageDeflate: false,
  cors: { origin: true },
});

// CyTube's ipThrottleMiddleware: a token bucket per IP, capacity CONNECT_BURST (5 on a
// real server), refilled 0.1 per second.
io.use((socket, next) => {
  const ip = socket.handshake.address;
  const now = Date.now();
  const b = connects.get(ip) || { tokens: CONNECT_BURST, at: now };
  b.tokens = Math.min(CONNECT_BURST, b.tokens + ((now - b.at) / 1000) * 0.1);
  b.at = now;
  connects.set(ip, b);
  if (b.tokens < 1) {
    log.push({ user: null, event: "connectRefused" });
    return next(new Error("Rate limit exceeded"));
  }
  b.tokens -= 1;
  next();
});
io.on("connection", wire);

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`PORT ${httpServer.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
