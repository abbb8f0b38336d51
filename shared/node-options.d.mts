export declare const CLI_NODE_OPTIONS: readonly string[];
