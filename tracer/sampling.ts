export { isSampled, sampleThreshold } from '../shared/sampling.ts';
