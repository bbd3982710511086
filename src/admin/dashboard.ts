/**
 * The dashboard's files (plain HTML, CSS and ES modules from src/admin/ui/, copied beside this
 * module by `npm run build`) and the headers that keep it from being framed or injected into.
 */
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

/** Where the built dashboard files are: dist/src/admin/ui/. */
export const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));

/**
 * Scripts, styles and requests from the dashboard's own origin only: no inline script can run
 * (Content Security Policy Level 3), no other site may frame it (frame-ancestors, and
 * X-Frame-Options for browsers without CSP 2).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  next();
};

/** The files, revalidated on every load (ETag), so an upgraded server never serves a stale UI. */
export function dashboardFiles(): RequestHandler {
  return express.static(UI_DIR, {
    index: 'index.html',
    redirect: false,
    dotfiles: 'ignore',
    cacheControl: true,
    maxAge: 0,
  });
}
