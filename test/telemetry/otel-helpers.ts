/**
 * The real OpenTelemetry SDK for the telemetry tests: a meter provider whose reader
 * collects on demand, a tracer provider exporting to memory, the AsyncLocalStorage
 * context manager and the W3C propagator, registered globally or not, and undone after.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A reader that collects when asked. */
class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Sdk {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: BasicTracerProvider;
  readonly spans: InMemorySpanExporter;
  /** Every metric collected now, by name. */
  metrics(): Promise<Map<string, MetricData>>;
  /** Ends everything, global registrations included. */
  shutdown(): Promise<void>;
}

/**
 * The SDK with in-memory exporters. `global`: registered as the process's providers,
 * with the context manager and propagator (these two always, as an application would).
 */
export function startSdk(global: boolean): Sdk {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (global) {
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
  }
  return {
    meterProvider,
    tracerProvider,
    spans,
    async metrics() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const out = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) out.set(metric.descriptor.name, metric);
      }
      return out;
    },
    async shutdown() {
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** The data points of `name` (none if it was not collected). */
export function points(all: Map<string, MetricData>, name: string): DataPoint<unknown>[] {
  return (all.get(name)?.dataPoints ?? []) as DataPoint<unknown>[];
}

/** The one data point of `name` whose attributes include `match`. */
export function point(
  all: Map<string, MetricData>,
  name: string,
  match: Record<string, unknown>,
): DataPoint<unknown> | undefined {
  return points(all, name).find((p) =>
    Object.entries(match).every(([k, v]) => p.attributes[k] === v),
  );
}

/** A histogram point's count. */
export function count(p: DataPoint<unknown> | undefined): number {
  return p === undefined ? 0 : (p.value as Histogram).count;
}

/** A histogram point's sum. */
export function sum(p: DataPoint<unknown> | undefined): number | undefined {
  return p === undefined ? undefined : (p.value as Histogram).sum;
}

/** Spans finished so far, in the order they ended. */
export function finished(sdk: Sdk): ReadableSpan[] {
  return sdk.spans.getFinishedSpans();
}
