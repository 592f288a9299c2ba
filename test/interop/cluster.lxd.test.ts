// One guestgate per member of a real 2-member LXD 5.0.2 cluster: see cluster-suite.ts.
import { describeCluster } from './cluster-suite.ts';

describeCluster('lxd');
