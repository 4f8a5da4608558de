export { type AddressVerdict, classifyAddress, describeVerdict, embeddedIpv4 } from './addresses.js';
export {
  checkAllowEntries,
  normalHost,
  OutboundPolicy,
  type OutboundPolicyOptions,
  OutboundRefusedError,
  outboundRefusal,
  type Resolver,
} from './policy.js';
