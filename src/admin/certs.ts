/** The certificate store as admins see it: the CLI's `cert` commands and the admin API. */
import { CertStore, certificateRows, certsDirOf, type CertRow, type TlsSettings } from '../gateway/tls/index.js';

export { formatCertTable, type CertRow } from '../gateway/tls/index.js';

/** Every stored certificate with its state at `now`, and the files that could not be loaded. */
export function listCertificates(settings: TlsSettings, now: number): { rows: CertRow[]; problems: string[] } {
  return certificateRows(new CertStore(certsDirOf(settings)), now, settings.renewWindowSeconds * 1000);
}
