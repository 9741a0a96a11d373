import { z } from 'zod';

/** What a webhook can be told about. */
export const NOTIFY_EVENTS = ['run_failed', 'sweep_held', 'stale'] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number];

/** One webhook: where, in which shape (Slack's `{text}` or fleetsync's JSON), about what. */
export const webhookSchema = z
  .object({
    /** The webhook's URL (a secret: write `${SLACK_WEBHOOK_URL}`; logs name only its host). */
    url: z.string().url().refine((u) => /^https?:/.test(u), 'must be an http(s) URL'),
    /** `slack`: `{"text": ...}` (Slack incoming webhooks, Mattermost, Teams' Slack-compatible ones); `json`: fleetsync's event object. Default json. */
    format: z.enum(['slack', 'json']).default('json'),
    /** Default: every event. */
    events: z.array(z.enum(NOTIFY_EVENTS)).min(1).default([...NOTIFY_EVENTS]),
  })
  .strict();
export type WebhookConfig = z.infer<typeof webhookSchema>;

/** `notifications:` in the config: sent by workers (src/notify/notifier.ts). */
export const notificationsSchema = z
  .object({
    webhooks: z.array(webhookSchema).default([]),
    /** How often a worker looks for failed runs, held sweeps and stale resources (ms, default 30 s). */
    checkEveryMs: z.number().int().min(1000).default(30_000),
  })
  .strict();
export type NotificationsConfig = z.infer<typeof notificationsSchema>;
