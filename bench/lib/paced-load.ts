import { connect, type Socket } from "node:net";

/**
 * An open-loop, constant-rate load generator. autocannon's `overallRate` is a per-second quota:
 * each connection fires its share back to back at the start of every second, then idles
 * (lib/httpClient.js, `reqsMadeThisSecond`), so it measures latency at saturation, not at a rate.
 * Here request k is due at start + k / rate; latency is counted from that due time, so time spent
 * waiting for a free connection is counted too (no coordinated omission).
 */
export interface PacedOptions {
  url: string;
  rate: number;
  durationMs: number;
  /** Keep-alive connections; a request waits for a free one, as with a real client's pool. */
  connections: number;
  /** The body of request `seq`; called just before it is written. */
  body: (seq: number) => string;
  /** Called once request `seq` has been written (e.g. to note its send time). */
  onSent?: (seq: number, at: number) => void;
}

export interface PacedResult {
  sent: number;
  statuses: Record<string, number>;
  errors: number;
  /** From each request's due time to its complete answer, in ms, in completion order. */
  latencies: number[];
  /** Most requests ever waiting for a free connection at once. */
  maxBacklog: number;
}

interface Conn {
  socket: Socket;
  busy: { seq: number; due: number } | null;
  buffer: Buffer;
}

export async function pacedLoad(options: PacedOptions): Promise<PacedResult> {
  const { hostname, port, pathname } = new URL(options.url);
  const head = `POST ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: `;
  const total = Math.round((options.rate * options.durationMs) / 1000);
  const result: PacedResult = { sent: 0, statuses: {}, errors: 0, latencies: [], maxBacklog: 0 };
  const backlog: Array<{ seq: number; due: number }> = [];
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const complete = (conn: Conn, status: string) => {
    const request = conn.busy;
    if (!request) return;
    conn.busy = null;
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    result.latencies.push(performance.now() - request.due);
    if (++done === total) finish();
    dispatch();
  };
  const onData = (conn: Conn, chunk: Buffer) => {
    conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, chunk]) : chunk;
    const headerEnd = conn.buffer.indexOf("\r\n\r\n");
    if (headerEnd < 0) return;
    const header = conn.buffer.toString("latin1", 0, headerEnd);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(header)?.[1] ?? 0);
    if (conn.buffer.length < headerEnd + 4 + length) return;
    conn.buffer = conn.buffer.subarray(headerEnd + 4 + length);
    complete(conn, header.slice(9, 12));
  };
  const open = (conn: Conn) =>
    new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve());
      conn.socket = socket;
      conn.buffer = Buffer.alloc(0);
      socket.setNoDelay(true);
      socket.on("data", (chunk: Buffer) => onData(conn, chunk));
      socket.on("error", reject);
      // The server closes idle keep-alive sockets: open a new one, as a client pool would.
      socket.on("close", () => {
        if (stopped || conn.socket !== socket) return;
        if (conn.busy) {
          result.errors++;
          complete(conn, "closed");
        }
        void open(conn).catch(() => {});
      });
    });
  let stopped = false;
  const conns: Conn[] = Array.from({ length: options.connections }, () => ({
    socket: null as unknown as Socket,
    busy: null,
    buffer: Buffer.alloc(0),
  }));
  await Promise.all(conns.map(open));
  // Round robin keeps every connection warm.
  let cursor = 0;
  const idle = () => {
    for (let i = 0; i < conns.length; i++) {
      const conn = conns[(cursor + i) % conns.length]!;
      if (!conn.busy && !conn.socket.destroyed && !conn.socket.connecting) {
        cursor = (cursor + i + 1) % conns.length;
        return conn;
      }
    }
    return undefined;
  };
  function dispatch() {
    for (let conn = idle(); conn && backlog.length; conn = idle()) {
      const request = backlog.shift()!;
      const body = options.body(request.seq);
      conn.busy = request;
      conn.socket.write(`${head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
      result.sent++;
      options.onSent?.(request.seq, performance.now());
    }
    result.maxBacklog = Math.max(result.maxBacklog, backlog.length);
  }

  const start = performance.now();
  let scheduled = 0;
  const ticker = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - start) * options.rate) / 1000));
    for (; scheduled < due; scheduled++)
      backlog.push({ seq: scheduled, due: start + (scheduled * 1000) / options.rate });
    dispatch();
    if (scheduled === total) clearInterval(ticker);
  }, 1);
  // Bounded in time: answers that have not come 10 s after the last send are given up on.
  const deadline = setTimeout(finish, options.durationMs + 10_000);
  await finished;
  clearInterval(ticker);
  clearTimeout(deadline);
  stopped = true;
  for (const conn of conns) conn.socket.destroy();
  return result;
}
