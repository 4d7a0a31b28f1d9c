// The part of the WebAssembly JS API that normalize-kernel.ts uses: Node has it, but neither lib ES2022
// nor @types/node 20 declares it.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  class LinkError extends Error {}
}
