// One guestgate per member of a real 2-member Incus 6.0.4 cluster: see cluster-suite.ts.
import { describeCluster } from './cluster-suite.ts';

describeCluster('incus');
