import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { bootsFromDisk, checkHvParams, modifiedHvParams, parseHypervisorOption, parseParamList } from '../../src/domain/hv-params.js';

describe("Ganeti's -H NAME:PARAM=VALUE,…", () => {
  it('reads the name alone, or with its parameters; a kernel command line keeps its own commas', () => {
    expect(parseHypervisorOption('kvm')).toEqual(E.right({ name: 'kvm', params: {} }));
    expect(parseHypervisorOption('kvm:')).toEqual(E.right({ name: 'kvm', params: {} }));
    expect(parseHypervisorOption('kvm:kernel_path=/k,kernel_args=console=ttyS0,115200 root=/dev/vda1,initrd_path=/i')).toEqual(
      E.right({ name: 'kvm', params: { kernel_path: '/k', kernel_args: 'console=ttyS0,115200 root=/dev/vda1', initrd_path: '/i' } }),
    );
    // After kernel_args, a piece naming no kvm parameter is more of the command line.
    expect(parseHypervisorOption('kvm:kernel_args=a=1,b=2')).toEqual(E.right({ name: 'kvm', params: { kernel_args: 'a=1,b=2' } }));
    expect(parseHypervisorOption('kvm:kernel_path=')).toEqual(E.right({ name: 'kvm', params: { kernel_path: '' } }));
  });

  it('refuses a piece that is not PARAM=VALUE, and a parameter given twice', () => {
    expect(parseHypervisorOption('kvm:kernel_path')).toEqual(E.left(`expected PARAM=VALUE after 'kvm:', got "kernel_path"`));
    expect(parseHypervisorOption('kvm:=x')).toEqual(E.left(`expected PARAM=VALUE after 'kvm:', got "=x"`));
    expect(parseHypervisorOption('kvm:kernel_path=/a,kernel_path=/b')).toEqual(E.left("parameter 'kernel_path' is given twice"));
    // Names an object has of its own are only unknown parameters, never taken as given already.
    expect(parseHypervisorOption('kvm:toString=1,constructor=2')).toEqual(E.right({ name: 'kvm', params: { toString: '1', constructor: '2' } }));
    expect(checkHvParams('kvm', { toString: '1' })).toEqual(E.left("kvm has no parameter 'toString' (it takes kernel_path, initrd_path, kernel_args, boot_order)"));
    expect(parseParamList('kernel_path=/k,initrd_path=default')).toEqual(E.right({ kernel_path: '/k', initrd_path: 'default' }));
    expect(parseParamList('kernel_path')).toEqual(E.left('expected PARAM=VALUE in -H, got "kernel_path"'));
  });
});

describe('the parameters each hypervisor takes', () => {
  it('takes kvm kernel, initrd, command line and boot order; an empty kernel_path boots the first disk', () => {
    expect(checkHvParams('kvm', { kernel_path: '/boot/vmlinuz', initrd_path: '', kernel_args: 'quiet' })).toEqual(E.right({ initrd_path: '', kernel_args: 'quiet', kernel_path: '/boot/vmlinuz' }));
    const disk = checkHvParams('kvm', { kernel_path: '', boot_order: 'disk' });
    expect(disk).toEqual(E.right({ boot_order: 'disk', kernel_path: '' }));
    expect(bootsFromDisk(E.isRight(disk) ? disk.right : undefined)).toBe(true);
    expect(bootsFromDisk({})).toBe(false);
    expect(checkHvParams('fake', {})).toEqual(E.right({}));
  });

  it("modifies as Ganeti's modify -H does: those named are set, one given as default is dropped", () => {
    expect(modifiedHvParams({ kernel_path: '/k', kernel_args: 'quiet' }, { kernel_args: 'default', initrd_path: '/i' })).toEqual({ kernel_path: '/k', initrd_path: '/i' });
    expect(modifiedHvParams(undefined, { kernel_path: '' })).toEqual({ kernel_path: '' });
  });

  it.each([
    ['fake', { kernel_path: '/k' }, "hypervisor 'fake' takes no parameters (given: kernel_path); only kvm does"],
    ['kvm', { vcpus: '2' }, "kvm has no parameter 'vcpus' (it takes kernel_path, initrd_path, kernel_args, boot_order)"],
    ['kvm', { kernel_path: 'vmlinuz' }, 'kernel_path "vmlinuz" is not an absolute path (expected a file on the node, such as /boot/vmlinuz)'],
    ['kvm', { initrd_path: '/a,b' }, `initrd_path "/a,b" has a ',' or a control character in it, which QEMU cannot be given`],
    ['kvm', { kernel_path: `/${'x'.repeat(4096)}` }, 'kernel_path is longer than 4096 characters'],
    ['kvm', { kernel_args: 'a\nb' }, 'kernel_args must be one line of at most 1024 characters, without control characters'],
    ['kvm', { kernel_args: 'a\x1b[2Jb\rc' }, 'kernel_args must be one line of at most 1024 characters, without control characters'],
    ['kvm', { kernel_path: '/boot/a\tb' }, `kernel_path "/boot/a\\tb" has a ',' or a control character in it, which QEMU cannot be given`],
    ['kvm', { boot_order: 'network' }, "boot_order 'network' is not one opledger's kvm has: a guest without a kernel boots only from its first disk ('disk')"],
    ['kvm', { kernel_path: '', initrd_path: '/i' }, 'kernel_path is empty, so the guest boots from its disk: initrd_path and kernel_args need a kernel to go with'],
  ] as const)('refuses %s %j in one line', (hypervisor, params, said) => {
    expect(checkHvParams(hypervisor, params)).toEqual(E.left(said));
  });
});
