// The live feed (WebSocket /api/v1/live/ws) with reconnection.
//
// A connection counts as lost when the socket closes or when nothing (not even a
// heartbeat) arrived for twice the server's heartbeat interval: a half-open TCP
// connection on a mobile link would otherwise look "live" for minutes. Reconnection
// backs off exponentially with jitter, so a restarted API is not hit by every
// dashboard at once; a snapshot resets the back-off.

const FIRST_DELAY_S = 1;
const MAX_DELAY_S = 30;
const POLICY_VIOLATION = 1008; // refused key or filter: retrying cannot help

export class LiveConnection {
  constructor({ url, heartbeatS, onMessage, onState }) {
    this.url = url;
    this.silenceMs = (heartbeatS * 2 + 5) * 1000;
    this.onMessage = onMessage;
    this.onState = onState;
    this.attempt = 0;
    this.socket = null;
    this.stopped = false;
    this.retryTimer = null;
    this.watchdog = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    if (this.socket) this.socket.close(1000, 'page closed');
  }

  connect() {
    this.onState({ state: 'connecting' });
    const socket = new WebSocket(this.url());
    this.socket = socket;
    let refused = null;
    socket.addEventListener('message', (event) => {
      if (socket !== this.socket) return;
      this.feedWatchdog();
      const message = JSON.parse(event.data);
      if (message.type === 'error') {
        refused = message.problem;
        return;
      }
      if (message.type === 'snapshot') {
        this.attempt = 0;
        this.onState({ state: 'live' });
      }
      this.onMessage(message);
    });
    socket.addEventListener('close', (event) => {
      if (socket !== this.socket) return;
      clearTimeout(this.watchdog);
      if (this.stopped) return;
      if (event.code === POLICY_VIOLATION) {
        this.onState({ state: 'refused', problem: refused });
        return;
      }
      this.scheduleRetry();
    });
    this.feedWatchdog();
  }

  feedWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      // Silent too long: treat as lost even though the socket has not noticed.
      const stale = this.socket;
      this.socket = null;
      stale?.close(4000, 'no heartbeat');
      this.scheduleRetry();
    }, this.silenceMs);
  }

  scheduleRetry() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const base = Math.min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** this.attempt);
    const delayS = Math.max(1, Math.round(base * (0.75 + Math.random() * 0.5)));
    this.attempt += 1;
    const retryAt = Date.now() + delayS * 1000;
    this.onState({ state: 'lost', retryAt, attempt: this.attempt });
    this.retryTimer = setTimeout(() => this.connect(), delayS * 1000);
  }
}
