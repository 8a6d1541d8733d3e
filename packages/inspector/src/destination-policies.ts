import { DEFAULT_DELIVERY_ATTEMPTS, DEFAULT_DESTINATION, readRelayConfig } from "@yuju-relay/config";
import type { DeliveryPolicy, RetryPolicy } from "@yuju-relay/queue";

/**
 * Each destination's attempts and backoff, read from RELAY_CONFIG (or `default` without it): what a
 * replay's new delivery job gets, for an event delivered inline. Names and shapes only: the reader
 * never signs, so the secrets' variables are neither needed nor read. Throws ConfigError.
 */
export function destinationPolicies(
  relayConfigPath: string | undefined,
  retry: RetryPolicy,
): Map<string, DeliveryPolicy> {
  const defaults = { timeoutMs: 10_000, attempts: DEFAULT_DELIVERY_ATTEMPTS, retry };
  const destinations = relayConfigPath
    ? readRelayConfig(relayConfigPath, { env: {}, resolveSecrets: false, defaults })
    : [{ name: DEFAULT_DESTINATION, ...defaults }];
  return new Map(destinations.map((d) => [d.name, { attempts: d.attempts, retry: d.retry }]));
}
