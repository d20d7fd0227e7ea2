import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { NetnsUnavailableError } from './errors.js'

const run = promisify(execFile)

/**
 * Network namespaces for tests and benches on real interfaces: LANs are bridges in a hub namespace, devices are
 * namespaces joined to them by veth pairs, with static addresses and no default route (no router). Names carry a
 * random run id (parallel runs do not meet); `destroy()` deletes every namespace made (their veths go with them).
 */
export class NetnsLab {
  readonly run = randomBytes(3).toString('hex')
  readonly #namespaces: string[] = []
  /** bridge ports per LAN namespace */
  readonly #ports = new Map<string, string[]>()
  #veths = 0
  /** veth ends made in this process's own namespace (deleted by destroy) */
  readonly #hostLinks: string[] = []

  /**
   * Fails (does not skip) with a NetnsUnavailableError saying why when this machine cannot make namespaces (they
   * need root). `who` names what needs them, for that message.
   */
  static async create(who = 'the no-router tests'): Promise<NetnsLab> {
    const lab = new NetnsLab()
    try {
      await lab.namespace('probe')
    } catch (err) {
      await lab.destroy()
      const why = err instanceof Error ? err.message : String(err)
      throw new NetnsUnavailableError(
        `${who} cannot run without network namespaces (run as root with iproute2: \`ip netns add\`): ${why}`,
        { cause: err },
      )
    }
    return lab
  }

  /** `ip ARGS...` */
  async ip(...args: string[]): Promise<string> {
    return (await run('ip', args)).stdout
  }

  /** A new namespace with loopback up. */
  async namespace(name: string): Promise<string> {
    const ns = `cm-${this.run}-${name}`
    await this.ip('netns', 'add', ns)
    this.#namespaces.push(ns)
    await this.ip('-n', ns, 'link', 'set', 'lo', 'up')
    return ns
  }

  /** A LAN: a bridge (no address, IGMP snooping off) in a namespace of its own. */
  async lan(name: string): Promise<{ ns: string; bridge: string }> {
    const ns = await this.namespace(name)
    await this.ip('-n', ns, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0')
    await this.ip('-n', ns, 'link', 'set', 'br0', 'up')
    return { ns, bridge: 'br0' }
  }

  /** Plugs `device` into `lan` as interface `ifname` with `cidr` (e.g. 10.1.0.2/24 or 169.254.3.7/16); no route. */
  async plug(
    device: string,
    lan: { ns: string; bridge: string },
    ifname: string,
    cidr: string,
  ): Promise<void> {
    const port = `v${++this.#veths}`
    await this.ip(
      'link',
      'add',
      port,
      'netns',
      lan.ns,
      'type',
      'veth',
      'peer',
      'name',
      ifname,
      'netns',
      device,
    )
    await this.ip('-n', lan.ns, 'link', 'set', port, 'master', lan.bridge)
    this.#ports.set(lan.ns, [...(this.#ports.get(lan.ns) ?? []), port])
    await this.ip('-n', lan.ns, 'link', 'set', port, 'up')
    await this.ip('-n', device, 'addr', 'add', cidr, 'dev', ifname)
    await this.ip('-n', device, 'link', 'set', ifname, 'up')
  }

  /**
   * A point-to-point link between this process's own network namespace and `device`: a veth pair, `hostCidr` on
   * this side, `deviceCidr` on `device`'s `ifname`; no route beyond the link. A test process reaches the device (and
   * the device it) only through this link: how a proxy in the test sits between two namespaced devices.
   */
  async hostLink(device: string, ifname: string, hostCidr: string, deviceCidr: string): Promise<string> {
    const host = `cmh${this.run}${++this.#veths}`
    await this.ip('link', 'add', host, 'type', 'veth', 'peer', 'name', ifname, 'netns', device)
    this.#hostLinks.push(host)
    await this.ip('addr', 'add', hostCidr, 'dev', host)
    await this.ip('link', 'set', host, 'up')
    await this.ip('-n', device, 'addr', 'add', deviceCidr, 'dev', ifname)
    await this.ip('-n', device, 'link', 'set', ifname, 'up')
    return host
  }

  /**
   * Limits what `device` sends out of `ifname` to `rateKbit` kbit/s (a token bucket, `tc qdisc … tbf`, which works
   * inside a namespace; this kernel has no netem, so latency and cuts come from LinkProxy). `device` null: an
   * interface of this process's own namespace.
   */
  async shape(device: string | null, ifname: string, rateKbit: number): Promise<void> {
    const tc = ['qdisc', 'replace', 'dev', ifname, 'root', 'tbf', 'rate', `${rateKbit}kbit`]
    const args = [...tc, 'burst', '16kbit', 'latency', '2s']
    if (device === null) await run('tc', args)
    else await run('ip', ['netns', 'exec', device, 'tc', ...args])
  }

  /** Removes what shape() set on `ifname`. */
  async unshape(device: string | null, ifname: string): Promise<void> {
    const args = ['qdisc', 'del', 'dev', ifname, 'root']
    if (device === null) await run('tc', args)
    else await run('ip', ['netns', 'exec', device, 'tc', ...args])
  }

  /** Takes `ifname` of `device` down (the tablet leaves the link) or up again. */
  async setLink(device: string, ifname: string, up: boolean): Promise<void> {
    await this.ip('-n', device, 'link', 'set', ifname, up ? 'up' : 'down')
  }

  /**
   * The switch stops forwarding multicast between its ports (client isolation, a hotspot that drops mDNS): every
   * port of `lan` gets `mcast_flood off`; unicast and broadcast (ARP) still pass.
   */
  async dropMulticast(lan: { ns: string; bridge: string }): Promise<void> {
    for (const port of this.#ports.get(lan.ns) ?? [])
      await this.ip('-n', lan.ns, 'link', 'set', port, 'type', 'bridge_slave', 'mcast_flood', 'off')
  }

  /** The prefix that runs a command inside `ns`. */
  exec(ns: string): string[] {
    return ['ip', 'netns', 'exec', ns]
  }

  async routes(ns: string): Promise<string> {
    return this.ip('-n', ns, 'route', 'show', 'table', 'all')
  }

  async destroy(): Promise<void> {
    for (const link of this.#hostLinks.splice(0)) await this.ip('link', 'del', link).catch(() => undefined)
    for (const ns of this.#namespaces.splice(0).reverse())
      await this.ip('netns', 'del', ns).catch(() => undefined)
  }
}
