/**
 * @module jobs/guarded-url
 * Which URLs the service may call on a client's behalf (webhook deliveries, and image URLs
 * later): `https` only, no credentials in the URL, and no host that names this machine or
 * a private network: `localhost`, and IP literals in loopback, private, link-local,
 * carrier-grade NAT, unspecified, multicast or reserved ranges (IPv4, IPv6 and IPv4-mapped
 * IPv6). With `allowLoopbackHttp` (local development only) plain `http` to a loopback host
 * is allowed too. Pure: every refusal is a reason, never a fetch.
 */
export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

function ipv4(host: string): number[] | undefined {
  const parts = host.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** Whether an IPv4 address is in a range the service must not call. */
function blockedV4([a, b]: number[]): string | undefined {
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 100 && b! >= 64 && b! <= 127) return 'carrier-grade NAT';
  if (a === 0) return 'unspecified';
  if (a! >= 224) return 'multicast or reserved';
  if (a === 192 && b === 0) return 'reserved';
  if (a === 198 && (b === 18 || b === 19)) return 'benchmarking';
  return undefined;
}

/** Whether an IPv6 literal (without brackets) is in a range the service must not call. */
function blockedV6(host: string): string | undefined {
  const h = host.toLowerCase();
  if (h === '::1') return 'loopback';
  if (h === '::') return 'unspecified';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)?.[1];
  if (mapped) {
    const v4 = ipv4(mapped);
    return v4 ? (blockedV4(v4) ?? undefined) : 'malformed';
  }
  // URL normalises ::ffff:a.b.c.d to ::ffff:xxxx:yyyy
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (hexMapped) {
    const [hi, lo] = [parseInt(hexMapped[1]!, 16), parseInt(hexMapped[2]!, 16)];
    return blockedV4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  if (/^f[cd]/.test(h)) return 'unique local';
  if (/^fe[89ab]/.test(h)) return 'link-local';
  if (/^ff/.test(h)) return 'multicast';
  if (/^64:ff9b:/.test(h)) return 'NAT64';
  return undefined;
}

const isLoopbackHost = (host: string) => host === 'localhost' || host === '[::1]' || ipv4(host)?.[0] === 127;

export function checkOutboundUrl(text: string, { allowLoopbackHttp = false } = {}): UrlCheck {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'not an absolute URL' };
  }
  if (url.username || url.password) return { ok: false, reason: 'URLs with credentials are refused' };
  const host = url.hostname.toLowerCase();
  const loopbackDev = allowLoopbackHttp && isLoopbackHost(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackDev))
    return { ok: false, reason: `only https URLs are called${allowLoopbackHttp ? ' (http for loopback in local development)' : ''}` };
  if (loopbackDev) return { ok: true, url };
  if (host === 'localhost' || host.endsWith('.localhost')) return { ok: false, reason: 'localhost is refused' };
  const v4 = ipv4(host);
  const v4Block = v4 && blockedV4(v4);
  if (v4Block) return { ok: false, reason: `${host} is a ${v4Block} address` };
  if (host.startsWith('[')) {
    const v6Block = blockedV6(host.slice(1, -1));
    if (v6Block) return { ok: false, reason: `${host} is a ${v6Block} address` };
  }
  return { ok: true, url };
}
