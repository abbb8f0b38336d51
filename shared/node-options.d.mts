export declare const CLI_NODE_OPTIONS: readonly string[];
export declare function cliNodeOptions(inherited: string | undefined): string;
