import ipaddr from 'ipaddr.js';

/**
 * The client a per-address limit counts by: the IPv4 address, or the /64 an IPv6 address is
 * in (one host usually holds a whole /64, so counting single IPv6 addresses would count
 * nothing). `::ffff:a.b.c.d` is a.b.c.d. @fastify/rate-limit keys IPv6 by /64 too.
 */
export function clientKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  let address = ipaddr.parse(ip);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}
