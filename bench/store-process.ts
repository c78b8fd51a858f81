/** The bench's DynamoDB stand-in (dynalite), in a process of its own. Prints its endpoint over IPC. */
import { startLocalStore } from '../local/store';

void startLocalStore().then((store) => process.send!({ endpoint: store.endpoint }));
