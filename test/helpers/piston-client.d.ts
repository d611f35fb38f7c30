// piston-client ships no types; these describe the calls the tests make of it.
declare module 'piston-client' {
  interface ExecuteOptions {
    language?: string;
    version?: string;
    files?: { name?: string; content: string; encoding?: string }[];
    stdin?: string;
    args?: string[];
    compileTimeout?: number;
    runTimeout?: number;
    compileMemoryLimit?: number;
    runMemoryLimit?: number;
  }
  interface PistonClient {
    runtimes(): Promise<unknown>;
    execute(language: string, code: string, options?: ExecuteOptions): Promise<unknown>;
  }
  export default function piston(options?: { server?: string }): PistonClient;
}
