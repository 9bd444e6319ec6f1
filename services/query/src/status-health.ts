// The thresholds that turn a stage or a service amber or red on the status page, as one plain function of
// the figures: a reader on call sees the colour and the sentence that says why.

export type Health = 'green' | 'amber' | 'red';

export interface StatusThresholds {
  /** Records waiting (consumer lag) above which a stage is amber, and red. */
  readonly lagAmber: number;
  readonly lagRed: number;
  /** Share of a stage's submissions in the window it rejected above which it is amber, and red. */
  readonly rejectedShareAmber: number;
  readonly rejectedShareRed: number;
}

export const defaultThresholds: StatusThresholds = {
  lagAmber: 1_000,
  lagRed: 10_000,
  rejectedShareAmber: 0.05,
  rejectedShareRed: 0.2,
};

export interface StageHealthInput {
  /** Records the stage moved on in the window (its consumer group committed, or ingest produced). */
  readonly handled: number;
  /** Submissions the stage saw in the window, and those it rejected among them. */
  readonly seen: number;
  readonly rejected: number;
  /** Records waiting; undefined for ingest, which reads HTTP. */
  readonly lag?: number;
  /** Whether the stage's service answered its /metrics (undefined: not scraped). */
  readonly serviceUp?: boolean;
}

const worse = (a: Health, b: Health): Health =>
  a === 'red' || b === 'red' ? 'red' : a === 'amber' || b === 'amber' ? 'amber' : 'green';

/** A stage's colour and why: red when its service is down, or records wait and none moved in the window. */
export const stageHealth = (
  { handled, seen, rejected, lag, serviceUp }: StageHealthInput,
  thresholds: StatusThresholds = defaultThresholds,
): { health: Health; why: string[] } => {
  let health: Health = 'green';
  const why: string[] = [];
  if (serviceUp === false) {
    health = 'red';
    why.push('the service does not answer');
  }
  if (lag !== undefined) {
    if (lag > 0 && handled === 0) {
      health = 'red';
      why.push(`${lag} records wait and none was handled in the window`);
    } else if (lag > thresholds.lagRed) {
      health = 'red';
      why.push(`lag ${lag} above ${thresholds.lagRed}`);
    } else if (lag > thresholds.lagAmber) {
      health = worse(health, 'amber');
      why.push(`lag ${lag} above ${thresholds.lagAmber}`);
    }
  }
  if (seen > 0) {
    const share = rejected / seen;
    const percent = (value: number): string => `${Math.round(value * 1000) / 10}%`;
    if (share > thresholds.rejectedShareRed) {
      health = 'red';
      why.push(
        `${percent(share)} rejected in the window (red above ${percent(thresholds.rejectedShareRed)})`,
      );
    } else if (share > thresholds.rejectedShareAmber) {
      health = worse(health, 'amber');
      why.push(
        `${percent(share)} rejected in the window (amber above ${percent(thresholds.rejectedShareAmber)})`,
      );
    }
  }
  return { health, why };
};
