// The page imports the contract's request type (through client/), whose schema measures UTF-8
// with Node's Buffer on the server. The page never runs that code; this lets its types check.
declare const Buffer: { byteLength(text: string, encoding: 'utf8'): number };
