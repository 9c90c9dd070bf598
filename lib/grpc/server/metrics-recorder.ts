/**
 * grpc-js's per-call ORCA metrics recorder (`call.getMetricsRecorder()`). It records; nothing is
 * sent: the server option that would put the report in the trailers
 * (`grpc.server_call_metric_recording`) is not supported.
 */
export class PerRequestMetricRecorder {
  /** @internal */
  readonly report: {
    requestCost?: Record<string, number>;
    utilization?: Record<string, number>;
    namedMetrics?: Record<string, number>;
    cpuUtilization?: number;
    memUtilization?: number;
    applicationUtilization?: number;
    qps?: number;
    eps?: number;
  } = {};

  /** Records a request cost metric for the call. */
  recordRequestCostMetric(name: string, value: number): void {
    (this.report.requestCost ??= {})[name] = value;
  }

  /** Records a utilization metric for the call. */
  recordUtilizationMetric(name: string, value: number): void {
    (this.report.utilization ??= {})[name] = value;
  }

  /** Records an opaque named metric for the call. */
  recordNamedMetric(name: string, value: number): void {
    (this.report.namedMetrics ??= {})[name] = value;
  }

  /** Records the CPU utilization. */
  recordCPUUtilizationMetric(value: number): void {
    this.report.cpuUtilization = value;
  }

  /** Records the memory utilization. */
  recordMemoryUtilizationMetric(value: number): void {
    this.report.memUtilization = value;
  }

  /** Records the application utilization. */
  recordApplicationUtilizationMetric(value: number): void {
    this.report.applicationUtilization = value;
  }

  /** Records the queries per second. */
  recordQpsMetric(value: number): void {
    this.report.qps = value;
  }

  /** Records the errors per second. */
  recordEpsMetric(value: number): void {
    this.report.eps = value;
  }
}
