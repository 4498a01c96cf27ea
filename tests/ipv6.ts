/** Whether this machine can listen on the IPv6 loopback: the tests that need it are skipped if not. */
export const ipv6Loopback = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();
