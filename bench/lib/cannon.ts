import autocannon from "autocannon";

export interface CannonRun {
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  /** 2xx answers per second over the whole run. */
  rate: number;
  /** autocannon's own latency percentiles (whole ms). */
  latency: { p50: number; p99: number };
}

export interface CannonOptions {
  url: string;
  body: string;
  connections: number;
  /** Bounded by time... */
  durationS?: number;
  /** ...or by count: every request then gets its answer before the run ends (no request cut off at the stop). */
  amount?: number;
  overallRate?: number;
}

/** One autocannon run, POSTing the same body on keep-alive connections, on loopback only. */
export function cannon({ url, body, connections, durationS, amount, overallRate }: CannonOptions): Promise<CannonRun> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        pipelining: 1,
        timeout: 10,
        ...(amount ? { amount } : { duration: durationS ?? 10 }),
        ...(overallRate ? { overallRate } : {}),
      },
      (error, result) => {
        clearTimeout(hardStop);
        if (error) return reject(error);
        resolve({
          ok2xx: result["2xx"],
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          durationS: result.duration,
          rate: result["2xx"] / result.duration,
          latency: { p50: result.latency.p50, p99: result.latency.p99 },
        });
      },
    );
    // A count-bounded run is still bounded in time: a server that stalls cannot hold the bench.
    const hardStop = setTimeout(() => instance.stop(), 60_000);
  });
}
