import { Notification } from '@jupyterlab/apputils';

import { IClosed, IOrphan } from '../api';
import { INotices, OFFERED_KEY, OrphansOffer, closedMessage, offerMessage } from '../orphans';

const ORPHAN: IOrphan = {
  key: 'kernel-4242-1765100000.json/sales',
  name: 'sales',
  engine: 'livy',
  session_id: '3',
  place: 'j-1K48XXXXXXHCB',
  role_arn: 'arn:aws:iam::123456789012:role/sales-data-access',
  opened: '2026-12-07T10:00:00+00:00',
  kernel_pid: 4242
};

interface IShown {
  message: string;
  type: string;
  actions: Notification.IAction[];
}

/** Notifications and dialogs recorded; a dialog answers `choose`. */
function fakeNotices(choose = true): { notices: INotices; shown: IShown[]; dialogs: string[][] } {
  const shown: IShown[] = [];
  const dialogs: string[][] = [];
  const notices: INotices = {
    emit: (message, type, options) => {
      shown.push({ message, type: type ?? 'default', actions: options?.actions ?? [] });
      return String(shown.length - 1);
    },
    update: args => {
      const at = shown[Number(args.id)];
      Object.assign(at, { message: args.message, type: args.type, actions: args.actions ?? [] });
      return true;
    },
    details: async (_title, lines) => {
      dialogs.push(lines);
      return choose;
    }
  };
  return { notices, shown, dialogs };
}

function fakeStorage(): Pick<Storage, 'getItem' | 'setItem'> & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: key => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value)
  };
}

function api(orphans: IOrphan[], closed: IClosed | Error = { lines: [], failed: 0 }) {
  const calls = { listed: 0, closed: 0 };
  return {
    calls,
    orphans: async () => {
      calls.listed += 1;
      return orphans;
    },
    closeOrphans: async () => {
      calls.closed += 1;
      if (closed instanceof Error) {
        throw closed;
      }
      return closed;
    }
  };
}

function click(notice: IShown, label: string): void {
  const action = notice.actions.find(a => a.label === label);
  expect(action).toBeDefined();
  action!.callback(new MouseEvent('click'));
}

const settle = () => new Promise(resolve => setTimeout(resolve, 0));

describe('OrphansOffer', () => {
  it('offers what was left once, and closes it on request', async () => {
    const server = api([ORPHAN], { lines: ['closed sales (3 on j-1K48XXXXXXHCB)'], failed: 0 });
    const { notices, shown } = fakeNotices();
    const storage = fakeStorage();
    const offer = new OrphansOffer(server, notices, storage);

    await offer.check();
    await offer.check();

    expect(shown).toHaveLength(1);
    expect(shown[0].type).toBe('warning');
    expect(shown[0].message).toBe(
      'A kernel that is gone left 1 EMR session open (sales), billed until its idle timeout.'
    );
    expect(JSON.parse(storage.items.get(OFFERED_KEY)!)).toEqual([ORPHAN.key]);
    click(shown[0], 'Close them');
    await settle();
    expect(server.calls.closed).toBe(1);
    expect(shown[1]).toMatchObject({
      type: 'success',
      message: 'Closed 1 EMR session a kernel that is gone left.'
    });
  });

  it('is not offered again after a reload once offered, whatever the answer', async () => {
    const storage = fakeStorage();
    await new OrphansOffer(api([ORPHAN]), fakeNotices().notices, storage).check();
    const again = fakeNotices();
    await new OrphansOffer(api([ORPHAN]), again.notices, storage).check();
    expect(again.shown).toHaveLength(0);
  });

  it('shows the sessions in Details and closes from there', async () => {
    const server = api([ORPHAN], { lines: ['closed sales (3 on j-1K48XXXXXXHCB)'], failed: 0 });
    const { notices, shown, dialogs } = fakeNotices(true);
    await new OrphansOffer(server, notices, fakeStorage()).check();
    click(shown[0], 'Details');
    await settle();
    expect(dialogs[0]).toEqual([
      'sales: livy session 3 on j-1K48XXXXXXHCB as ' +
        'arn:aws:iam::123456789012:role/sales-data-access, ' +
        'opened 2026-12-07T10:00:00+00:00 by kernel 4242'
    ]);
    expect(server.calls.closed).toBe(1);
  });

  it('says what could not be closed as an error with the lines behind Details', async () => {
    const lines = [
      'could not close sales (3 on j-1K48XXXXXXHCB): Livy at https://x could not be reached'
    ];
    const { notices, shown, dialogs } = fakeNotices();
    await new OrphansOffer(api([ORPHAN], { lines, failed: 1 }), notices, fakeStorage()).check();
    click(shown[0], 'Close them');
    await settle();
    expect(shown[1]).toMatchObject({
      type: 'error',
      message: '1 of 1 EMR session could not be closed; Details says why.'
    });
    click(shown[1], 'Details');
    expect(dialogs).toEqual([lines]);
  });

  it('says a failed request in one line', async () => {
    const { notices, shown } = fakeNotices();
    const failed = new Error('The Jupyter server could not be reached.');
    await new OrphansOffer(api([ORPHAN], failed), notices, fakeStorage()).check();
    click(shown[0], 'Close them');
    await settle();
    expect(shown[1]).toMatchObject({ type: 'error', message: failed.message });
  });

  it('offers nothing when nothing is left or the server cannot say', async () => {
    const { notices, shown } = fakeNotices();
    await new OrphansOffer(api([]), notices, fakeStorage()).check();
    const broken = { orphans: () => Promise.reject(new Error('down')), closeOrphans: jest.fn() };
    await new OrphansOffer(broken, notices, fakeStorage()).check();
    expect(shown).toHaveLength(0);
  });
});

describe('messages', () => {
  it('fit a notification and count right', () => {
    const many = Array.from({ length: 9 }, (_, n) => ({ ...ORPHAN, name: `session-${n}` }));
    expect(offerMessage(many).length).toBeLessThanOrEqual(140);
    expect(offerMessage(many)).toContain('left 9 EMR sessions open (session-0, session-1');
    const ended = { lines: ['sales (3 on j-X) had ended already; forgotten'], failed: 0 };
    expect(closedMessage(ended)).toBe('Nothing was left open: those EMR sessions had ended already.');
  });
});
