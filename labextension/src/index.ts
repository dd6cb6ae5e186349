/**
 * jupyter-emr-roles for JupyterLab: an "EMR" notebook toolbar button and a
 * command that open the "Connect to EMR" dialog, a status-bar item with
 * the current notebook's EMR sessions, and a one-time offer to close the
 * sessions kernels that are gone left open.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  ICommandPalette,
  ISessionContextDialogs,
  SessionContextDialogs,
  ToolbarButton,
  showErrorMessage
} from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { IStateDB } from '@jupyterlab/statedb';
import { IStatusBar } from '@jupyterlab/statusbar';

import { EmrRolesClient, IRolesCatalog } from './api';
import { connectCells, IConnectChoice } from './cell';
import { ConnectBody, ConnectDialog } from './connectDialog';
import { extensionLoaded } from './kernel';
import { ChoiceMemory } from './memory';
import { OrphansOffer } from './orphans';
import { ConnectionsStatus } from './status';

export const COMMAND_CONNECT = 'jupyter-emr-roles:connect';
const TOOLTIP = 'Connect this notebook to an EMR cluster under a runtime role';
/** Kernel states after which a kernel's process is gone (or going): its sessions may be left. */
const KERNEL_LOST = new Set(['restarting', 'autorestarting', 'dead']);

/** role ARN -> label, for the status bar. */
function labelsOf(catalog: IRolesCatalog): Map<string, string> {
  const labels = new Map<string, string>();
  for (const account of catalog.accounts) {
    for (const role of account.roles) {
      if (role.label) {
        labels.set(role.arn, role.label);
      }
    }
  }
  return labels;
}

/**
 * Insert the cells below the active cell and run them. Whether `%load_ext`
 * is needed is asked of the kernel; without a kernel it is included, since
 * loading twice is harmless and a missing load breaks the cell.
 */
async function insertAndRun(
  panel: NotebookPanel,
  choice: IConnectChoice,
  dialogs: ISessionContextDialogs
): Promise<void> {
  const kernel = panel.sessionContext.session?.kernel;
  const loaded = kernel ? await extensionLoaded(kernel).catch(() => false) : false;
  const sources = connectCells(choice, loaded);
  const notebook = panel.content;
  const first = notebook.activeCellIndex + 1;
  for (const source of sources) {
    NotebookActions.insertBelow(notebook);
    NotebookActions.changeCellType(notebook, 'code');
    notebook.activeCell?.model.sharedModel.setSource(source);
  }
  if (sources.length > 1) {
    notebook.activeCellIndex = first;
    notebook.extendContiguousSelectionTo(first + sources.length - 1);
  }
  await NotebookActions.run(notebook, panel.sessionContext, dialogs);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-emr-roles:plugin',
  description: 'Connect notebooks to Amazon EMR under an IAM runtime role.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, IStatusBar, IStateDB, ISessionContextDialogs],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    state: IStateDB | null,
    sessionDialogs: ISessionContextDialogs | null
  ) => {
    const client = new EmrRolesClient(app.serviceManager.serverSettings);
    const memory = new ChoiceMemory(state);
    const dialogs = sessionDialogs ?? new SessionContextDialogs();

    const connect = async (panel: NotebookPanel): Promise<void> => {
      const path = panel.context.path;
      const body = new ConnectBody(client, await memory.recall(path));
      const result = await new ConnectDialog(body).launch();
      if (!result.button.accept || result.value === null) {
        return;
      }
      const choice = result.value;
      await memory.remember(path, choice).catch(() => undefined);
      try {
        await insertAndRun(panel, choice, dialogs);
      } catch (error) {
        await showErrorMessage('Connect to EMR', error as Error);
      }
    };

    app.commands.addCommand(COMMAND_CONNECT, {
      label: 'Connect to EMR…',
      caption: TOOLTIP,
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        const panel = tracker.currentWidget;
        if (panel) {
          await connect(panel);
        }
      }
    });
    palette?.addItem({ command: COMMAND_CONNECT, category: 'EMR' });

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new ToolbarButton({
          label: 'EMR',
          tooltip: TOOLTIP,
          className: 'jp-EmrRoles-toolbarButton',
          onClick: () => {
            void connect(panel);
          }
        });
        panel.toolbar.insertAfter('cellType', 'emrRoles', button);
        return button;
      }
    });

    const offer = new OrphansOffer(client);
    void app.restored.then(() => offer.check());
    tracker.widgetAdded.connect((_, panel) => {
      panel.sessionContext.statusChanged.connect((_, status) => {
        if (KERNEL_LOST.has(status)) {
          offer.later();
        }
      });
    });

    if (statusBar) {
      const status = new ConnectionsStatus(tracker, () =>
        client.roles().then(labelsOf)
      );
      statusBar.registerStatusItem('jupyter-emr-roles:status', {
        item: status,
        align: 'left',
        rank: 4
      });
    }
  }
};

export default plugin;
