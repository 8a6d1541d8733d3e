import { eventually, messageCallback, startReceiver, type Receiver } from "@yuju-relay/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startRelayStack, type RelayStack } from "../../../test-support/relay-stack.ts";

describe("relay event and bursts (real Redis, the worker merging, the CLI as a child process)", () => {
  let assistant: Receiver;
  let archive: Receiver;
  let relay: RelayStack;

  beforeAll(async () => {
    [assistant, archive] = await Promise.all([startReceiver(), startReceiver()]);
    relay = await startRelayStack({
      redisUrl: inject("redisUrl"),
      workers: "in-process",
      requireToken: false,
      destinations: [
        { name: "assistant", receiver: assistant, yaml: "    merge: { quiet: 300ms, maxWait: 5s, maxMessages: 2 }" },
        { name: "archive", receiver: archive },
      ],
    });
    // Two messages of one chat (chat-1): the burst closes at maxMessages.
    await relay.post(messageCallback("m-b1"));
    await relay.post(messageCallback("m-b2"));
    await eventually(() => {
      expect(assistant.deliveries).toHaveLength(1);
      expect(archive.deliveries).toHaveLength(2);
    });
  });
  afterAll(async () => {
    await relay?.close();
    await Promise.all([assistant, archive].map((r) => r?.close()));
  });

  it("a message shows the burst that carried it, with the burst's delivery; the burst shows itself", async () => {
    const burstId = String(assistant.deliveries[0]!.headers["webhook-id"]);
    expect(burstId).toMatch(/^burst_/);
    expect(assistant.deliveries[0]!.body).toMatchObject({
      type: "conversation.burst",
      data: { closedBy: "maxMessages" },
    });

    await eventually(async () => {
      const { code, stdout } = await relay.relay("event", "m-b1");
      expect(code).toBe(0);
      expect(stdout).toMatch(
        new RegExp(
          `│ assistant\\s+│ delivered │ 1/15\\s+│ 200\\s+│ \\S+ │ ${burstId}\\s+│ carried by burst ${burstId}`,
        ),
      );
      expect(stdout).toMatch(/│ archive\s+│ delivered .*│ msg_m-b1\s+│/);
    });

    const burst = await relay.relay("event", burstId);
    expect(burst.code).toBe(0);
    expect(burst.stdout).toMatch(new RegExp(`^event ${burstId} \\(conversation\\.burst\\)`, "m"));
    expect(burst.stdout).toMatch(/│ assistant\s+│ delivered/);
  });
});
