// Errors cross the worker boundary as plain objects (structured clone keeps no class), and are turned back
// into WebvlError on the page, code and details intact.
import { WebvlError, type WebvlErrorCode } from '../errors';

export interface WireError {
  readonly name: 'WebvlError';
  readonly code: WebvlErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof WebvlError) return { ...e.toJSON(), details: safeDetails(e.details) };
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { name: 'WebvlError', code: 'INTERNAL', message };
}

function safeDetails(d: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!d) return undefined;
  try {
    return structuredClone(d);
  } catch {
    return JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
  }
}

export function isWireError(v: unknown): v is WireError {
  return typeof v === 'object' && v !== null && (v as WireError).name === 'WebvlError' && 'code' in v;
}

export function fromWire(v: unknown): unknown {
  return isWireError(v) ? new WebvlError(v.code, v.message, v.details) : v;
}
